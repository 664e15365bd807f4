"""A PostgreSQL failover with asynchronous replication can lose the last committed transactions
after their Kafka offsets were committed. The points database is restored to a snapshot taken
mid-stream while Kafka's committed offsets are ahead of it: after a restart the service reads
again what the database lost, and every balance is what the purchases give, none counted twice.

The snapshot is `CREATE DATABASE ... TEMPLATE`, which wants no connection to the service's
database: the service is stopped around it (it drains and commits its offsets as on a SIGTERM).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from tests.conftest import PARTITIONS
from tests.support.apps import running
from tests.support.events import purchase
from tests.support.kafka import publish_events, read_events
from tests.support.waiting import eventually

MEMBERS = [f"m-f{n:03d}" for n in range(12)]
BEFORE, AFTER = 60, 60


@dataclass(frozen=True)
class Stored:
    purchases: int
    earn_entries: int
    available: dict[str, int]


async def _stored(dsn: str) -> Stored:
    conn = await asyncpg.connect(dsn)
    try:
        purchases = await conn.fetchval("SELECT count(*) FROM purchase")
        entries = await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE kind = 'earn'")
        rows = await conn.fetch("SELECT member_id, available FROM points_account")
    finally:
        await conn.close()
    return Stored(purchases, entries, {r["member_id"]: r["available"] for r in rows})


async def _recorded(dsn: str, order_ids: list[str]) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM purchase WHERE order_id = ANY($1::text[])", order_ids
        )
    finally:
        await conn.close()
    return found


async def _committed(bootstrap: str) -> int:
    """The points consumer group's committed offsets on the purchases topic, summed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = [TopicPartition(COMMERCE_PURCHASES, p) for p in range(PARTITIONS)]
        offsets = await admin.list_consumer_group_offsets("loyalty-points", partitions=partitions)
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for meta in offsets.values())


def _name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def _copy_database(server: str, *, source: str, target: str) -> None:
    """`target` made again as a copy of `source` (neither may have a connection)."""
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    finally:
        await conn.close()


async def test_a_database_restored_behind_kafka_applies_again_what_it_lost(
    points_settings: PointsSettings,
    broker: LocalBroker,
    new_database: Callable[[str], str],
    postgres_server: str,
) -> None:
    rng = random.Random(21)
    oracle: dict[str, int] = defaultdict(int)
    dsn = points_settings.database_url
    snapshot = _name(new_database("snapshot"))

    def purchases(count: int, members: list[str] | None = None) -> list[dict[str, Any]]:
        events = []
        for n in range(count):
            member = members[n] if members is not None else rng.choice(MEMBERS)
            total = rng.randrange(1, 2000)
            oracle[member] += total
            events.append(purchase(member, f"{total}.00", days_ago=30))
        return events

    async with running(create_app(points_settings)):
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, purchases(BEFORE))
        await eventually(lambda: _stored(dsn), lambda s: s.purchases == BEFORE, timeout_s=60)
    await _copy_database(postgres_server, source=_name(dsn), target=snapshot)

    async with running(create_app(points_settings)):
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, purchases(AFTER))
        await eventually(
            lambda: _stored(dsn), lambda s: s.purchases == BEFORE + AFTER, timeout_s=60
        )
        await eventually(lambda: _committed(broker.bootstrap), lambda n: n == BEFORE + AFTER)

    # The failover: the database is back at the snapshot, Kafka's committed offsets are not.
    await _copy_database(postgres_server, source=snapshot, target=_name(dsn))
    assert (await _stored(dsn)).purchases == BEFORE
    assert await _committed(broker.bootstrap) == BEFORE + AFTER

    async with running(create_app(points_settings)):
        # One more purchase of every member: in each partition, after all that was lost.
        last = purchases(len(MEMBERS), MEMBERS)
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, last)
        orders = [str(event["data"]["order_id"]) for event in last]
        await eventually(lambda: _recorded(dsn, orders), lambda n: n == len(orders), timeout_s=60)
        stored = await _stored(dsn)
        total = BEFORE + AFTER + len(MEMBERS)
        assert stored.available == dict(oracle), "every purchase credited, none twice"
        assert stored.purchases == total
        assert stored.earn_entries == total
        earned = await read_events(
            broker.bootstrap, LOYALTY_POINTS, expect=total + AFTER, timeout_s=60
        )
    ids = [event["id"] for event in earned]
    assert len(set(ids)) == total, "points.earned again for the lost purchases, under its own id"
