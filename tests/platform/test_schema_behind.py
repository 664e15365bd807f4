"""A service never runs ahead of its database schema. Kubernetes may start new pods before the
migration Job has finished: a service that does not migrate itself waits until its database holds
every migration it ships (the shared ones and its own), unready meanwhile (/readyz says which
migration it waits for, /healthz stays 200 so the pod is not restarted), and consumes nothing
until then. A batch that still meets a schema behind the code (a missing table, column or
function) is retried until the migration is there, counted, and never dead-lettered."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import MIGRATIONS
from loyalty_points.app import create_app as create_points_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.db.errors import is_transient
from loyalty_shared.db.migrations import migrate
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.consumer import ConsumerRunner
from loyalty_shared.kafka.routing import Refusal, Route
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, dlq_topic
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.support.apps import client_of, on_test_broker, running
from tests.support.events import encode, purchase
from tests.support.kafka import CE_HEADERS, publish_events, read_all
from tests.support.waiting import eventually

NEWEST = sorted(MIGRATIONS.glob("*.sql"))[-1]


async def _count(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()
    return count


async def test_a_service_waits_unready_for_its_newest_migration_then_consumes_what_came(
    new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path
) -> None:
    dsn = new_database("points")
    for older in sorted(MIGRATIONS.glob("*.sql"))[:-1]:
        shutil.copy(older, tmp_path)
    await migrate(dsn, tmp_path)  # all but the newest: the Job has not run yet
    settings = PointsSettings(
        points_database_url=dsn,
        migrate_at_start=False,  # as in Kubernetes
        schema_check_interval_s=0.2,
        **on_test_broker(broker),
    )
    app = create_points_app(settings)
    async with running(app), client_of(app) as api:
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["schema"] == (
            f"schema behind: waiting for migration {NEWEST.stem}"
        )
        assert (await api.get("/healthz")).status_code == 200, "alive: not to be restarted"
        assert runtime_of(app).consumer is None, "no consumer while the schema is behind"

        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-sb1", "250.00")])
        await asyncio.sleep(1.5)
        assert await _count(dsn, "processed_event") == 0, "nothing consumed"
        assert (await api.get("/readyz")).status_code == 503

        await migrate(dsn, MIGRATIONS)  # the migration Job
        await eventually(lambda: api.get("/readyz"), lambda r: r.status_code == 200, timeout_s=30)
        body = await eventually(
            lambda: balance_of(api, "m-sb1"), lambda b: b["lifetime_earned"] != 0, timeout_s=30
        )
        assert body["lifetime_earned"] == 250

    assert await _count(dsn, "dead_letter") == 0
    dead = await read_all(broker.bootstrap, dlq_topic(COMMERCE_PURCHASES), expect=1, timeout_s=2)
    assert dead == [], "nothing dead-lettered"


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UndefinedTableError('relation "member_action" does not exist'),
        asyncpg.UndefinedColumnError('column "category" does not exist'),
        asyncpg.UndefinedFunctionError("function points_due(text) does not exist"),
        asyncpg.UndefinedObjectError('type "action_kind" does not exist'),
    ],
)
def test_a_schema_behind_the_code_is_a_transient_error(error: Exception) -> None:
    assert is_transient(error)


class _Partitions:
    """What the runner asks of its Kafka consumer once a batch has applied."""

    def __init__(self) -> None:
        self.committed: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return set()


async def test_a_batch_meeting_an_old_schema_is_retried_until_it_applies_never_dead_lettered(
    new_database: Callable[[str], str], tmp_path: Path
) -> None:
    dsn = new_database("points")
    await migrate(dsn, tmp_path)  # the shared tables (inbox, dead letters) only
    applied: list[str] = []
    first_attempt = [asyncpg.UndefinedColumnError('column "category" does not exist')]

    async def handler(conn: Any, events: Sequence[Decoded[PurchaseCompletedV1]]) -> list[Refusal]:
        if first_attempt:  # the migration adding the column lands between the two attempts
            raise first_attempt.pop()
        applied.extend(event.envelope.id for event in events)
        return []

    value = encode(purchase("m-sb2", "10.00"))
    record = ConsumerRecord(
        topic=COMMERCE_PURCHASES,
        partition=0,
        offset=7,
        timestamp=int(time.time() * 1000),
        timestamp_type=0,
        key=b"m-sb2",
        value=value,
        checksum=None,
        serialized_key_size=6,
        serialized_value_size=len(value),
        headers=CE_HEADERS,
    )
    partitions = _Partitions()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    runner = ConsumerRunner(
        service="schema-behind-test",
        group_id="schema-behind-test",
        consumer=cast(Any, partitions),
        pool=pool,
        routes={COMMERCE_PURCHASES: {"purchase.completed": Route(PurchaseCompletedV1, handler)}},
    )
    try:
        await runner._apply_until_done({TopicPartition(COMMERCE_PURCHASES, 0): [record]})
        assert await _count(dsn, "dead_letter") == 0, "not dead-lettered"
    finally:
        await pool.close()

    assert len(applied) == 1, "applied on the retry"
    assert partitions.committed == [{TopicPartition(COMMERCE_PURCHASES, 0): 8}]
    retries = REGISTRY.get_sample_value(
        "loyalty_consumer_schema_behind_retries_total", {"service": "schema-behind-test"}
    )
    assert retries == 1
