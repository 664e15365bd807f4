"""The outbox relay: what is committed reaches Kafka, even across a crash, and a republished
event is applied once by the consumers downstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import asyncpg
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.db import Connection
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.outbox import enqueue_event
from loyalty_shared.db.pool import create_pool
from loyalty_shared.db.relay import OutboxRelay
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.envelope import OutgoingEvent
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.kafka.client import make_consumer, make_producer
from loyalty_shared.kafka.consumer import ConsumerRunner
from loyalty_shared.kafka.routing import Refusal, Route
from loyalty_shared.kafka.topics import LOYALTY_TIERS
from loyalty_shared.settings import ServiceSettings
from tests.support.kafka import read_all
from tests.support.tokens import SECRET
from tests.support.waiting import eventually


class CrashBeforeForgetting(OutboxRelay):
    """Dies after Kafka acknowledged the records and before they left the outbox."""

    async def _forget(self, conn: Connection, ids: list[int]) -> None:
        raise ConnectionResetError("killed between publish and delete")


@pytest.fixture
async def pool_and_settings(
    new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path
) -> AsyncIterator[tuple[asyncpg.Pool, ServiceSettings]]:
    dsn = new_database("relay")
    (tmp_path / "migrations").mkdir()
    await migrate(dsn, tmp_path / "migrations")
    settings = ServiceSettings(kafka_bootstrap=broker.bootstrap, jwt_secret=SECRET)
    pool = await create_pool(dsn, settings)
    yield pool, settings
    await pool.close()


def tier_event(n: int) -> OutgoingEvent:
    data = TierChangedV1(
        member_id=f"m-{n}",
        from_tier="bronze",
        to_tier="silver",
        direction="up",
        reason="spend",
        qualifying_spend="5000.00",
    )
    return OutgoingEvent(
        source="test",
        type=TierChangedV1.TYPE,
        subject=data.member_id,
        dataschema="urn:test",
        data=data.model_dump(mode="json"),
    )


async def test_a_relay_killed_between_publish_and_delete_republishes_and_consumers_apply_once(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings], broker: LocalBroker
) -> None:
    pool, settings = pool_and_settings
    events = [tier_event(n) for n in range(5)]
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await enqueue_event(conn, topic=LOYALTY_TIERS, event=event)
    producer = make_producer(settings, client_id="test-relay")
    await producer.start()
    try:
        with pytest.raises(ConnectionResetError):
            await CrashBeforeForgetting(service="test", pool=pool, producer=producer).publish_once()
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 5, "nothing forgotten"
        assert await OutboxRelay(service="test", pool=pool, producer=producer).publish_once() == 5
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await producer.stop()

    on_the_wire = await read_all(broker.bootstrap, LOYALTY_TIERS, expect=10)
    assert len(on_the_wire) == 10, "each event went out twice: at least once, as promised"

    applied: list[str] = []

    async def count(
        conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        applied.extend(event.envelope.id for event in events)
        return ()

    runner = ConsumerRunner(
        service="downstream",
        group_id="downstream",
        consumer=make_consumer(settings, client_id="downstream", group_id="downstream"),
        pool=pool,
        routes={LOYALTY_TIERS: {TierChangedV1.TYPE: Route(TierChangedV1, count)}},
    )
    await runner.start()
    try:
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM processed_event"), lambda n: n == 5
        )
        await asyncio.sleep(0.5)
    finally:
        await runner.stop()
    assert sorted(applied) == sorted(event.id for event in events)


async def test_the_relay_keeps_committed_rows_while_the_broker_is_away(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings], broker: LocalBroker
) -> None:
    pool, settings = pool_and_settings
    async with pool.acquire() as conn, conn.transaction():
        await enqueue_event(conn, topic=LOYALTY_TIERS, event=tier_event(1))
    producer = make_producer(settings, client_id="test-relay")
    await producer.start()
    relay = OutboxRelay(service="test", pool=pool, producer=producer, idle_sleep_s=0.05)
    try:
        broker.pause()
        await relay.start()
        await asyncio.sleep(1)
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
        broker.resume()
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM outbox"), lambda n: n == 0)
    finally:
        broker.resume()
        await relay.stop()
        await producer.stop()
    assert len(await read_all(broker.bootstrap, LOYALTY_TIERS, expect=1)) == 1
