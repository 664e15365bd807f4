"""A handler that fails on a group of events costs the batch nothing else: the batch applies
again, the failing group one event at a time, so every other event applies once and only the
event the handler fails on goes to the dead-letter topic. A batch whose handlers all succeed
takes no savepoint (two round trips a group fewer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord, TopicPartition

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.db import Connection
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.pool import create_pool
from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.client import make_consumer
from loyalty_shared.kafka.consumer import ConsumerRunner
from loyalty_shared.kafka.routing import Refusal, Route
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.settings import ServiceSettings
from tests.support.events import encode, envelope, purchase
from tests.support.kafka import fetched_record
from tests.support.tokens import SECRET

GROUP = "handler-failures-test"
POISON = "m-poison"


@pytest.fixture
async def pool(
    new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path
) -> AsyncIterator[asyncpg.Pool]:
    dsn = new_database("handler_failures")
    (tmp_path / "migrations").mkdir()
    await migrate(dsn, tmp_path / "migrations")
    settings = ServiceSettings(kafka_bootstrap=broker.bootstrap, jwt_secret=SECRET)
    created = await create_pool(dsn, settings)
    await created.execute("CREATE TABLE applied (event_id text NOT NULL, type text NOT NULL)")
    yield created
    await created.close()


class Handler:
    """Writes a row for each event it applies; raises on a group holding the poison member's,
    having written the rows of the events before it. Keeps the statements its connection ran
    from the first call on."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._logging: set[int] = set()

    async def __call__(
        self,
        conn: Connection,
        events: Sequence[Decoded[PurchaseCompletedV1] | Decoded[PurchaseRefundedV1]],
    ) -> Sequence[Refusal]:
        if id(conn) not in self._logging:
            self._logging.add(id(conn))
            conn.add_query_logger(lambda logged: self.statements.append(logged.query))
        for event in events:
            if event.envelope.subject == POISON:
                raise ValueError("the handler cannot apply this event")
            await conn.execute(
                "INSERT INTO applied VALUES ($1, $2)", event.envelope.id, event.envelope.type
            )
        return ()


@asynccontextmanager
async def runner(pool: asyncpg.Pool, handler: Handler) -> AsyncIterator[ConsumerRunner]:
    """A runner whose batches the test hands it (its consumer never joins a group)."""
    settings = ServiceSettings(kafka_bootstrap="127.0.0.1:9", jwt_secret=SECRET)
    consumer = make_consumer(settings, client_id="failures", group_id=GROUP)
    try:
        yield ConsumerRunner(
            service=GROUP,
            group_id=GROUP,
            consumer=consumer,
            pool=pool,
            routes={
                COMMERCE_PURCHASES: {
                    "purchase.completed": Route(PurchaseCompletedV1, handler),
                    "purchase.refunded": Route(PurchaseRefundedV1, handler),
                }
            },
        )
    finally:
        await consumer.stop()


def refund(member_id: str) -> dict[str, Any]:
    data = {
        "order_id": "o-1",
        "refund_id": f"r-{member_id}",
        "member_id": member_id,
        "currency": "CNY",
        "amount": "1.00",
    }
    return envelope("purchase.refunded", data)


def batch_of(*events: dict[str, Any]) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    """The events in this order on partition 0."""
    records = [
        fetched_record(0, offset, encode(event), key=b"m-1") for offset, event in enumerate(events)
    ]
    return {TopicPartition(COMMERCE_PURCHASES, 0): records}


async def applied_ids(pool: asyncpg.Pool) -> list[str]:
    return [row["event_id"] for row in await pool.fetch("SELECT event_id FROM applied")]


async def test_a_batch_whose_handlers_succeed_takes_no_savepoint(pool: asyncpg.Pool) -> None:
    handler = Handler()
    events = [purchase("m-1", "10.00"), refund("m-1"), purchase("m-2", "20.00")]

    async with runner(pool, handler) as consuming:
        await consuming.apply_batch(batch_of(*events))

    assert sorted(await applied_ids(pool)) == sorted(str(event["id"]) for event in events)
    assert handler.statements, "the handler's connection logged its statements"
    assert not [s for s in handler.statements if "SAVEPOINT" in s.upper()]


async def test_a_group_a_handler_fails_on_costs_only_the_event_it_fails_on(
    pool: asyncpg.Pool,
) -> None:
    handler = Handler()
    group = [refund("m-2"), refund(POISON), refund("m-3")]
    events = [purchase("m-1", "10.00"), *group, purchase("m-4", "40.00")]

    async with runner(pool, handler) as consuming:
        await consuming.apply_batch(batch_of(*events))

    applied = await applied_ids(pool)
    assert sorted(applied) == sorted(
        str(event["id"]) for event in events if event["subject"] != POISON
    ), "every other event once: the rows the failed attempt wrote were rolled back"
    letters = await pool.fetch("SELECT event_id, code FROM dead_letter")
    assert [(row["event_id"], row["code"]) for row in letters] == [
        (group[1]["id"], "processing-failed")
    ]
    assert await pool.fetchval(
        "SELECT next_offset FROM consumer_position WHERE group_id = $1", GROUP
    ) == len(events)
