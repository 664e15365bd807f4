"""Refunds in feedback: the service takes exactly the refunds the points service takes (contract
section 1, "Invalid input": a refund the order cannot take is dead-lettered and changes
nothing), so a refused one counts neither in a member's insight (`orders`, `clv`) nor for "no
survey after a full refund"; a refund that arrives before its purchase waits for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import ConsumerRecord

from loyalty_devkit.local_broker import LocalBroker
from loyalty_feedback.purchases.handlers import REFUNDS, purchases_handler
from loyalty_shared.kafka.parking import sweep
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.feedback.conftest import Service, bought, first_sampled, refunded
from tests.feedback.test_insight import insight
from tests.points.test_refunds import refund
from tests.support.events import encode, purchase
from tests.support.kafka import publish_events, read_all
from tests.support.waiting import eventually

DLQ = f"{COMMERCE_PURCHASES}.dlq"
DELAY = timedelta(days=3)


def codes(records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
    return [dict(r.headers)["error.code"].decode() for r in records]


#: LOYALTY_FEEDBACK_PARKED_REFUND_MAX_AGE_DAYS, as the tests run the service (the default).
MAX_AGE = timedelta(days=7)


async def swept(feedback: Service, now: datetime) -> tuple[int, int]:
    """One run of the feedback service's parking sweeper (app.py) at `now`."""
    return await sweep(
        feedback.pool,
        REFUNDS.parking,
        now=now,
        max_age=MAX_AGE,
        known=REFUNDS.known_orders,
        handler=REFUNDS.handle,
    )


async def waiting(feedback: Service) -> int:
    async with feedback.pool.acquire() as conn:
        return await REFUNDS.parking.waiting(conn)


async def test_refunds_the_order_cannot_take_are_dead_lettered_by_feedback_and_not_counted(
    feedback: Service, feedback_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-fr2", "500.00", order_id="o-fr2")]
    )
    await eventually(lambda: insight(feedback_api, "m-fr2"), lambda b: b["orders"] == 1)
    refused = [
        ("refund-exceeds-order", refund("m-fr1", "o-fr1", "1000.01", "r-fr1")),
        ("duplicate-refund", refund("m-fr1", "o-fr1", "1.00", "r-fr2")),  # r-fr2 again
        ("member-mismatch", refund("m-fr1", "o-fr2", "500.00", "r-fr3")),  # m-fr2's, in full
        ("currency-mismatch", refund("m-fr1", "o-fr1", "1.00", "r-fr4", currency="USD")),
        ("refund-exceeds-order", refund("m-fr1", "o-fr1", "800.01", "r-fr5")),  # 800 left
    ]
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase("m-fr1", "1000.00", order_id="o-fr1"),
            refused[0][1],
            refund("m-fr1", "o-fr1", "200.00", "r-fr2"),  # the one refund the order takes
            *(event for _, event in refused[1:]),
        ],
    )

    dead = await read_all(broker.bootstrap, DLQ, expect=len(refused))

    assert codes(dead) == [code for code, _ in refused]
    assert [r.value for r in dead] == [encode(event) for _, event in refused], "unchanged"
    assert {dict(r.headers)["error.service"] for r in dead} == {b"feedback"}
    assert all("error.partition" in dict(r.headers) for r in dead), "refused as read"
    one = await insight(feedback_api, "m-fr1")
    assert (one["orders"], one["clv"]) == (1, "800.00")
    other = await insight(feedback_api, "m-fr2")
    assert (other["orders"], other["clv"]) == (1, "500.00"), "not refunded by another member"
    rows = await feedback.fetch("SELECT refund_id, amount FROM refund")
    assert [(r["refund_id"], str(r["amount"])) for r in rows] == [("r-fr2", "200.00")]


async def test_a_refund_the_order_cannot_take_does_not_cancel_its_survey(
    feedback: Service,
) -> None:
    rate = feedback.program.feedback.sample_rate
    order = first_sampled("o-frs", rate)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    await feedback.purchases(bought("m-fr3", at, order_id=order, total="300.00"))

    refusals = await feedback.refunds(
        refunded("m-fr4", order, "300.00", at + timedelta(days=1)),  # another member's order
        refunded("m-fr3", order, "300.01", at + timedelta(days=1)),
        refunded("m-fr3", order, "300.00", at + timedelta(days=1), currency="USD"),
        refunded("m-fr3", order, "100.00", at + timedelta(days=1), refund_id="r-frs"),
        refunded("m-fr3", order, "200.00", at + timedelta(days=2), refund_id="r-frs"),
    )

    assert [r.error.code for r in refusals] == [
        "member-mismatch",
        "refund-exceeds-order",
        "currency-mismatch",
        "duplicate-refund",
    ]
    assert await feedback.send(at + DELAY) == 1, "200 of 300 left: not refunded in full"


async def test_refunds_before_their_purchase_wait_and_are_judged_when_it_comes(
    feedback: Service, feedback_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    rate = feedback.program.feedback.sample_rate
    order = first_sampled("o-fro", rate)
    at = datetime.now(UTC) - timedelta(days=1)
    early = [
        refunded("m-fr5", order, "120.00", at, refund_id="r-fro1"),
        refunded("m-fr5", order, "180.00", at, refund_id="r-fro2"),  # the rest: in full
        refunded("m-fr5", "o-fro-b", "50.01", at),  # more than that order's 50
    ]
    assert await feedback.refunds(*early) == []
    assert await waiting(feedback) == 3
    assert (await insight(feedback_api, "m-fr5"))["orders"] == 0

    await feedback.purchases(
        bought("m-fr5", at, order_id=order, total="300.00"),
        bought("m-fr5", at, order_id="o-fro-b", total="50.00"),
    )

    assert await waiting(feedback) == 0
    body = await insight(feedback_api, "m-fr5")
    assert (body["orders"], body["clv"]) == (1, "50.00"), "the first refunded in full"
    await feedback.send(at + DELAY)
    [row] = await feedback.fetch(
        "SELECT status, skip_reason FROM invitation WHERE order_id = $1", order
    )
    assert (row["status"], row["skip_reason"]) == ("skipped", "refunded")
    [dead] = await read_all(broker.bootstrap, DLQ, expect=1)
    headers = dict(dead.headers)
    assert (headers["error.code"], headers["error.service"]) == (
        b"refund-exceeds-order",
        b"feedback",
    )
    assert "error.partition" not in headers, "refused when its purchase came"
    assert early[2].raw is not None
    assert dead.value == early[2].raw.value


async def test_a_refund_whose_purchase_never_comes_is_dead_lettered_after_the_wait(
    feedback: Service, feedback_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    orphan = refund("m-fr6", "o-never-sold", "50.00", "r-fr6")
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [orphan])
    await eventually(lambda: waiting(feedback), lambda n: n == 1)
    now = datetime.now(UTC)

    soon, later, again = [await swept(feedback, now + timedelta(days=d)) for d in (6, 8, 9)]

    assert (soon, later, again) == ((0, 0), (0, 1), (0, 0))
    [dead] = await read_all(broker.bootstrap, DLQ, expect=1)
    headers = dict(dead.headers)
    assert (headers["error.code"], headers["error.service"]) == (b"unknown-order", b"feedback")
    assert "error.partition" not in headers
    assert (dead.key, dead.value) == (b"m-fr6", encode(orphan))
    assert await feedback.count("refund") == 0


async def test_a_refund_parked_while_its_purchase_was_being_recorded_is_judged_by_the_sweep(
    feedback: Service, broker: LocalBroker
) -> None:
    """A refund naming another member's order travels on another partition than the purchase:
    judged by one consumer while the other records the purchase, neither transaction sees the
    other's rows, and the refund is parked where the purchase's unparking cannot see it (chaos
    seed 201 in points, seed 103 in tiers). The next sweep, seconds later, judges it."""
    now = datetime.now(UTC)
    async with (
        feedback.pool.acquire() as buying,
        feedback.pool.acquire() as refunding,
        buying.transaction(),
        refunding.transaction(),
    ):
        await purchases_handler(feedback.program)(
            buying, [bought("m-fr-race1", now, order_id="o-fr-race1")]
        )
        await REFUNDS.handle(refunding, [refunded("m-fr-race2", "o-fr-race1", "1.00", now)])
    assert await waiting(feedback) == 1, "parked: the purchase was not visible yet"

    assert await swept(feedback, now) == (1, 0)
    assert await waiting(feedback) == 0
    [dead] = await read_all(broker.bootstrap, DLQ, expect=1)
    assert dict(dead.headers)["error.code"] == b"member-mismatch"
