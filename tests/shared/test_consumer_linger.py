"""A batch smaller than the most a consumer takes waits a moment (`LOYALTY_KAFKA_BATCH_LINGER_MS`)
for the records that arrive meanwhile: in a steady trickle a service applies fewer, larger
batches, and what a batch costs whatever its size is paid less often."""

from __future__ import annotations

import asyncio

import asyncpg

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.settings import ServiceSettings
from tests.shared.test_consumer_positions import MEMBERS, Applied, pool_and_settings, runner
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.waiting import eventually

__all__ = ["pool_and_settings"]  # the fixture, shared with the positions' tests


async def _applied_in_batches(
    pool: asyncpg.Pool, settings: ServiceSettings, broker: LocalBroker, *, linger_s: float
) -> list[int]:
    """Two purchases a quarter of a second apart, once the consumer has joined its group and
    applied a first one; the batches the two came in."""
    applied = Applied()
    consumer = runner(pool, settings, applied, name="linger", linger_s=linger_s)
    await consumer.start()
    try:
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase(MEMBERS[0])])
        await eventually(lambda: _total(applied), lambda n: n == 1, timeout_s=30)
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase(MEMBERS[1])])
        await asyncio.sleep(0.25)
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase(MEMBERS[2])])
        await eventually(lambda: _total(applied), lambda n: n == 3, timeout_s=30)
    finally:
        await consumer.stop()
    return applied.batches[1:]


async def _total(applied: Applied) -> int:
    return sum(applied.times.values())


async def test_records_that_arrive_within_the_linger_join_the_batch(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings], broker: LocalBroker
) -> None:
    pool, settings = pool_and_settings
    assert await _applied_in_batches(pool, settings, broker, linger_s=2.0) == [2]


async def test_without_a_linger_each_fetch_is_a_batch(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings], broker: LocalBroker
) -> None:
    pool, settings = pool_and_settings
    assert await _applied_in_batches(pool, settings, broker, linger_s=0) == [1, 1]
