"""A consumer wakes the outbox relay after a batch that wrote events, and only then: a batch
that wrote nothing (most of what tiers, feedback and notifications read) costs the relay no
round of its own; rows written elsewhere wait for its next poll."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiokafka import TopicPartition

from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_record
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.client import make_consumer
from loyalty_shared.kafka.consumer import ConsumerRunner
from loyalty_shared.kafka.routing import BatchHandler, Refusal, Route
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from loyalty_shared.settings import ServiceSettings
from tests.shared.test_consumer_positions import GROUP, pool_and_settings, record
from tests.support.events import encode, purchase

__all__ = ["pool_and_settings"]  # the fixture, shared with the positions' tests


async def publishing(
    conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
) -> Sequence[Refusal]:
    for event in events:
        await enqueue_record(
            conn, topic=LOYALTY_POINTS, key=b"m-pos00", value=event.envelope.id.encode()
        )
    return ()


async def quiet(
    conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
) -> Sequence[Refusal]:
    return ()


def consumer_of(
    pool: asyncpg.Pool,
    settings: ServiceSettings,
    handler: BatchHandler[PurchaseCompletedV1],
    wakeups: list[int],
) -> ConsumerRunner:
    return ConsumerRunner(
        service=GROUP,
        group_id=GROUP,
        consumer=make_consumer(settings, client_id="wakeups", group_id=GROUP),
        pool=pool,
        routes={COMMERCE_PURCHASES: {"purchase.completed": Route(PurchaseCompletedV1, handler)}},
        on_committed=lambda: wakeups.append(1),
    )


async def test_only_a_batch_that_wrote_events_wakes_the_relay(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings],
) -> None:
    pool, settings = pool_and_settings
    partition = TopicPartition(COMMERCE_PURCHASES, 0)
    woken_by_quiet: list[int] = []
    woken_by_publishing: list[int] = []

    await consumer_of(pool, settings, quiet, woken_by_quiet)._apply_until_done(
        {partition: [record(0, 0, encode(purchase("m-pos00")))]}
    )
    await consumer_of(pool, settings, publishing, woken_by_publishing)._apply_until_done(
        {partition: [record(0, 1, encode(purchase("m-pos00")))]}
    )

    assert woken_by_quiet == []
    assert woken_by_publishing == [1]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
