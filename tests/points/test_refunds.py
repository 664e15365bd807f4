"""Refunds take back what the order earned, in proportion, never more (contract section 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.refunds.handlers import refund_intake
from loyalty_shared.clock import system_clock
from loyalty_shared.kafka.parking import sweep
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.support.events import encode, envelope, purchase
from tests.support.kafka import publish_events, read_all
from tests.support.waiting import eventually


def refund(
    member_id: str, order_id: str, amount: str, refund_id: str, **data: Any
) -> dict[str, Any]:
    return envelope(
        "purchase.refunded",
        {
            "order_id": order_id,
            "refund_id": refund_id,
            "member_id": member_id,
            "currency": "CNY",
            "amount": amount,
            **data,
        },
    )


#: The points service's refunds as app.py takes them (the default program's policy).
REFUNDS = refund_intake("proportional", system_clock)


async def swept(app: FastAPI, now: datetime) -> tuple[int, int]:
    """One run of the points service's parking sweeper (app.py) at `now`."""
    return await sweep(
        runtime_of(app).pool,
        REFUNDS.parking,
        now=now,
        max_age=timedelta(days=7),
        known=REFUNDS.known_orders,
        handler=REFUNDS.handle,
    )


async def waiting(app: FastAPI) -> int:
    async with runtime_of(app).pool.acquire() as conn:
        count: int = await REFUNDS.parking.waiting(conn)
        return count


async def test_refunds_of_250_and_750_on_a_1000_order_reverse_everything_it_earned(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    order = purchase("m-6001", "1000.00", days_ago=20, order_id="o-6001")
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            order,
            refund("m-6001", "o-6001", "250.00", "r-1"),
            refund("m-6001", "o-6001", "750.00", "r-2"),
        ],
    )

    body = await eventually(
        lambda: balance_of(points_api, "m-6001"),
        lambda b: b["lifetime_earned"] == 0 and b["available"] == 0,
    )
    assert body["pending"] == 0


async def test_a_partial_refund_of_a_pending_order_reverses_its_share_of_pending_points(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase("m-6002", "399.00", order_id="o-6002"),
            refund("m-6002", "o-6002", "100.00", "r-3"),
        ],
    )

    body = await eventually(lambda: balance_of(points_api, "m-6002"), lambda b: b["pending"] == 299)
    # cumulative floor(399 x 100 / 399) = 100 reversed, from pending
    assert body["lifetime_earned"] == 299
    assert body["available"] == 0


async def test_a_refund_that_arrives_before_its_purchase_waits_for_it(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [refund("m-6003", "o-6003", "50.00", "r-4")]
    )
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-6003", "200.00", days_ago=30, order_id="o-6003")],
    )

    body = await eventually(
        lambda: balance_of(points_api, "m-6003"), lambda b: b["lifetime_earned"] == 150
    )
    assert body["available"] == 150


async def test_refunds_the_order_cannot_take_go_to_the_dead_letter_topic_with_their_reason(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bad = [
        ("refund-exceeds-order", refund("m-6004", "o-6004", "100.01", "r-5")),
        ("duplicate-refund", refund("m-6004", "o-6004", "1.00", "r-6", extra="first")),
        ("duplicate-refund", refund("m-6004", "o-6004", "1.00", "r-6")),
        ("currency-mismatch", refund("m-6004", "o-6004", "1.00", "r-7", currency="USD")),
    ]
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-6004", "100.00", days_ago=30, order_id="o-6004"), *(e for _, e in bad)],
    )

    dead = await read_all(broker.bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=3)
    codes = [dict(r.headers)["error.code"].decode() for r in dead]
    assert codes == ["refund-exceeds-order", "duplicate-refund", "currency-mismatch"]
    body = await balance_of(points_api, "m-6004")
    assert body["available"] == 99, "only the first r-6 applied: floor(100 x 1 / 100) = 1"


async def test_a_refund_whose_purchase_never_comes_is_dead_lettered_after_the_wait(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    orphan = refund("m-6005", "o-never-sold", "50.00", "r-8")
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [orphan])
    await eventually(lambda: waiting(points_app), lambda n: n == 1)

    soon = await swept(points_app, datetime.now(UTC) + timedelta(days=6))
    later = await swept(points_app, datetime.now(UTC) + timedelta(days=8))
    again = await swept(points_app, datetime.now(UTC) + timedelta(days=9))

    assert (soon, later, again) == ((0, 0), (0, 1), (0, 0))
    [dead] = await read_all(broker.bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=1)
    assert dict(dead.headers)["error.code"] == b"unknown-order"
    assert dead.value == encode(orphan)


async def test_a_refund_parked_while_its_purchase_was_being_credited_is_applied_by_the_jobs(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    # The race: the refund was judged by one consumer while another credited its purchase, so
    # it was parked where the purchase's own look for parked refunds could not see it.
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-6006", "200.00", days_ago=30, order_id="o-6006")],
    )
    await eventually(lambda: balance_of(points_api, "m-6006"), lambda b: b["available"] == 200)
    late = refund("m-6006", "o-6006", "50.00", "r-9")
    pool = runtime_of(points_app).pool
    await pool.execute(
        """
        INSERT INTO parked_record (consumer, event_id, key, topic, message_key, payload)
        VALUES ('points', $1, 'o-6006', $2, 'm-6006', $3)
        """,
        late["id"],
        COMMERCE_PURCHASES,
        encode(late),
    )

    assert await swept(points_app, datetime.now(UTC)) == (1, 0)
    body = await balance_of(points_api, "m-6006")
    assert (body["available"], body["lifetime_earned"]) == (150, 150)
    assert await waiting(points_app) == 0
