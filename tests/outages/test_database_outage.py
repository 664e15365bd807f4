"""PostgreSQL goes away and comes back: the points consumer stops committing Kafka offsets while
it cannot write (so nothing is acknowledged that is not stored), readiness says why, and once the
database is back every purchase published during the outage is credited, each exactly once.

The test stops and starts an embedded PostgreSQL of its own (skipped when the suite runs against
an external server named by LOYALTY_TEST_DATABASE_URL, which it must not stop).
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.conftest import PARTITIONS
from tests.outages.conftest import database_on
from tests.support.apps import client_of, on_test_broker, running
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MEMBERS = [f"m-d{n:03d}" for n in range(12)]
BEFORE, DURING = 40, 60


@pytest.fixture
async def points(own_postgres: LocalPostgres, broker: LocalBroker) -> AsyncIterator[FastAPI]:
    settings = PointsSettings(
        points_database_url=database_on(own_postgres, "points"),
        **on_test_broker(broker),
    )
    async with running(create_app(settings)) as app:
        yield app


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


async def _stored(dsn: str) -> tuple[int, int, dict[str, int]]:
    """(purchases, ledger entries, available per member), or (-1, -1, {}) while it is down."""
    try:
        conn = await asyncpg.connect(dsn, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return -1, -1, {}
    try:
        purchases = await conn.fetchval("SELECT count(*) FROM purchase")
        entries = await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE kind = 'earn'")
        rows = await conn.fetch("SELECT member_id, available FROM points_account")
    finally:
        await conn.close()
    return purchases, entries, {r["member_id"]: r["available"] for r in rows}


async def test_with_the_database_down_no_offset_is_committed_and_nothing_is_lost_after(
    points: FastAPI, own_postgres: LocalPostgres, broker: LocalBroker
) -> None:
    rng = random.Random(7)
    dsn = runtime_of(points).settings.database_url
    expected: dict[str, int] = defaultdict(int)

    def purchases(n: int) -> list[dict[str, object]]:
        events = []
        for _ in range(n):
            member = rng.choice(MEMBERS)
            total = rng.randrange(1, 2000)
            expected[member] += total
            events.append(purchase(member, f"{total}.00", days_ago=30))
        return events

    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, purchases(BEFORE))
    await eventually(lambda: _stored(dsn), lambda s: s[0] == BEFORE, timeout_s=30)
    await eventually(lambda: _committed(broker.bootstrap), lambda n: n == BEFORE)

    own_postgres.stop()

    async with client_of(points) as api:
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("failed")
        # the API says so too: a problem document asking to retry, not a 500
        read = await api.get(f"/v1/members/{MEMBERS[0]}/points", headers=bearer(MEMBERS[0]))
        assert read.status_code == 503, read.text
        assert read.headers["content-type"] == "application/problem+json"
        assert read.headers["retry-after"]

    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, purchases(DURING))
    await asyncio.sleep(5)  # fetched, tried, failed, retried: and never acknowledged
    assert await _committed(broker.bootstrap) == BEFORE

    await asyncio.to_thread(own_postgres.start)

    stored = await eventually(
        lambda: _stored(dsn), lambda s: s[0] == BEFORE + DURING, timeout_s=60, interval_s=0.5
    )
    _, entries, available = stored
    assert entries == BEFORE + DURING, "each purchase credited exactly once"
    assert available == dict(expected)
    await eventually(lambda: _committed(broker.bootstrap), lambda n: n == BEFORE + DURING)
    async with client_of(points) as api:
        await eventually(lambda: api.get("/readyz"), lambda r: r.status_code == 200)
        member = MEMBERS[0]
        balance = await api.get(f"/v1/members/{member}/points", headers=bearer(member))
        assert balance.json()["available"] == expected[member]
