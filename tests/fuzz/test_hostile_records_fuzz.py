"""Through the real broker: hostile records published in between valid purchases, on the same
partition, go to `commerce.purchases.dlq` unchanged with the reason the decoder gives, change
nothing, and never hold up the valid purchases behind them, which are all credited."""

from __future__ import annotations

import uuid

import asyncpg
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import InvalidEvent, decode_event
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.fuzz.budget import EXAMPLES, fuzz_settings
from tests.fuzz.hostile_events import hostile_value
from tests.security.conftest import RunningService
from tests.security.endpoints import ADMIN
from tests.support.events import encode, purchase
from tests.support.kafka import publish, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

PURCHASE_TYPES = (PurchaseCompletedV1.TYPE, PurchaseRefundedV1.TYPE)
MODELS: dict[str, type[BaseModel]] = {
    PurchaseCompletedV1.TYPE: PurchaseCompletedV1,
    PurchaseRefundedV1.TYPE: PurchaseRefundedV1,
}


def refusal(value: bytes) -> str | None:
    """The code the points service's decoder refuses `value` with, None if it does not."""
    try:
        decode_event(value, MODELS)
    except InvalidEvent as refused:
        return refused.code
    return None


#: The broker takes records up to 1 MB (`message.max.bytes`): a larger one never reaches a
#: consumer (the producer is refused), so megabyte payloads are the decoder test's.
BROKER_MAX_BYTES = 1_000_000

_refused = hostile_value(PURCHASE_TYPES).filter(
    lambda value: len(value) < BROKER_MAX_BYTES and refusal(value) is not None
)


async def _others(conn: asyncpg.Connection, member: str) -> list[tuple[str, int]]:
    """How many rows each table with a `member_id` holds for anyone but `member`."""
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = 'member_id' ORDER BY 1"
    )
    return [
        (
            t["table_name"],
            await conn.fetchval(
                f'SELECT count(*) FROM "{t["table_name"]}" WHERE member_id <> $1', member
            ),
        )
        for t in tables
    ]


@fuzz_settings(EXAMPLES.record_batches)
@given(hostile=st.lists(_refused, min_size=EXAMPLES.records, max_size=EXAMPLES.records))
async def test_hostile_records_beside_valid_purchases_are_dead_lettered_and_the_purchases_credited(
    running_services: dict[str, RunningService], hostile: list[bytes]
) -> None:
    points = running_services["points"]
    bootstrap = runtime_of(points.app).settings.kafka_bootstrap
    member = f"m-fuzz-{uuid.uuid4().hex[:8]}"
    valid = [purchase(member, "10.00", days_ago=30) for _ in hostile]
    messages: list[tuple[bytes | None, bytes]] = []
    for bad, good in zip(hostile, valid, strict=True):
        messages += [(member.encode(), bad), (member.encode(), encode(good))]

    conn = await asyncpg.connect(points.dsn)
    try:
        before = await _others(conn, member)
        await publish(bootstrap, COMMERCE_PURCHASES, messages)

        balance = await eventually(
            lambda: points.api.get(
                f"/v1/members/{member}/points", headers=bearer(ADMIN, admin=True)
            ),
            lambda r: r.status_code == 200 and r.json()["available"] == 10 * len(valid),
            timeout_s=60,
        )
        assert balance.json()["lifetime_earned"] == 10 * len(valid)
        assert await _others(conn, member) == before, "a hostile record changed something"
    finally:
        await conn.close()

    # written to the outbox with the batch that credited the purchases behind them: published
    # by now or a moment later
    dead = [
        r
        for r in await read_all(bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=10**9, timeout_s=3)
        if r.key == member.encode()
    ]
    assert [(r.value, dict(r.headers)["error.code"].decode()) for r in dead] == [
        (value, refusal(value)) for value in hostile
    ]
    for record in dead:
        assert dict(record.headers)["error.service"] == b"points"
        assert dict(record.headers)["error.detail"]
