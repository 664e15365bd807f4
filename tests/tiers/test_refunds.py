"""Refunds in qualifying spend: the tiers service takes exactly the refunds the points service
takes (contract section 1, "Invalid input": a refund the order cannot take is dead-lettered and
changes nothing), and a refund that arrives before its purchase waits for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from pydantic import BaseModel

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded, RawRecord, decode_event
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.parking import sweep
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from loyalty_tiers.spend.handlers import purchases_handler, refund_intake
from loyalty_tiers.state import TiersState
from tests.points.test_refunds import refund
from tests.support.events import encode, purchase
from tests.support.kafka import publish_events, read_all
from tests.support.waiting import eventually
from tests.tiers.test_tier_scenarios import tier_of

DLQ = f"{COMMERCE_PURCHASES}.dlq"

MODELS: dict[str, type[BaseModel]] = {
    PurchaseCompletedV1.TYPE: PurchaseCompletedV1,
    PurchaseRefundedV1.TYPE: PurchaseRefundedV1,
}


def codes(records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
    return [dict(r.headers)["error.code"].decode() for r in records]


#: LOYALTY_TIERS_PARKED_REFUND_MAX_AGE_DAYS, as the tests run the service (the default).
MAX_AGE = timedelta(days=7)


async def swept(app: Any, now: datetime) -> tuple[int, int]:
    """One run of the tiers service's parking sweeper (app.py) at `now`."""
    refunds = refund_intake(state_of(app, TiersState).program)
    return await sweep(
        runtime_of(app).pool,
        refunds.parking,
        now=now,
        max_age=MAX_AGE,
        known=refunds.known_orders,
        handler=refunds.handle,
    )


async def waiting(app: Any) -> int:
    async with runtime_of(app).pool.acquire() as conn:
        return await refund_intake(state_of(app, TiersState).program).parking.waiting(conn)


async def test_refunds_the_order_cannot_take_are_dead_lettered_by_tiers_and_change_no_spend(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    refused = [
        ("refund-exceeds-order", refund("m-tr1", "o-tr1", "1000.01", "r-tr1")),
        ("duplicate-refund", refund("m-tr1", "o-tr1", "1.00", "r-tr2")),  # r-tr2 again
        ("member-mismatch", refund("m-tr1", "o-tr2", "1.00", "r-tr3")),  # m-tr2's order
        ("currency-mismatch", refund("m-tr1", "o-tr1", "1.00", "r-tr4", currency="USD")),
        ("refund-exceeds-order", refund("m-tr1", "o-tr1", "800.01", "r-tr5")),  # 800 left
    ]
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-tr2", "500.00", order_id="o-tr2")]
    )
    await eventually(
        lambda: tier_of(tiers_api, "m-tr2"), lambda b: b["qualifying_spend"] == "500.00"
    )
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase("m-tr1", "1000.00", order_id="o-tr1"),
            refused[0][1],
            refund("m-tr1", "o-tr1", "200.00", "r-tr2"),  # the one refund the order takes
            *(event for _, event in refused[1:]),
        ],
    )

    dead = await read_all(broker.bootstrap, DLQ, expect=len(refused))

    assert codes(dead) == [code for code, _ in refused]
    assert [r.value for r in dead] == [encode(event) for _, event in refused], "unchanged"
    assert {dict(r.headers)["error.service"] for r in dead} == {b"tiers"}
    assert all("error.partition" in dict(r.headers) for r in dead), "refused as read"
    assert (await tier_of(tiers_api, "m-tr1"))["qualifying_spend"] == "800.00"
    assert (await tier_of(tiers_api, "m-tr2"))["qualifying_spend"] == "500.00"
    rows = await runtime_of(tiers_app).pool.fetch("SELECT refund_id, amount FROM refund")
    assert [(r["refund_id"], str(r["amount"])) for r in rows] == [("r-tr2", "200.00")]


async def test_refunds_of_an_order_in_another_currency_are_judged_but_never_spend(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase("m-tr3", "6000.00", order_id="o-tr3"),
            purchase("m-tr3", "100.00", order_id="o-tr3-usd", currency="USD"),
            refund("m-tr3", "o-tr3-usd", "60.00", "r-tr6", currency="USD"),
            refund("m-tr3", "o-tr3-usd", "40.01", "r-tr7", currency="USD"),  # 40 left
        ],
    )

    [dead] = await read_all(broker.bootstrap, DLQ, expect=1)

    assert codes([dead]) == ["refund-exceeds-order"]
    body = await tier_of(tiers_api, "m-tr3")
    assert (body["qualifying_spend"], body["tier"]) == ("6000.00", "silver")


async def test_refunds_before_their_purchase_wait_and_are_judged_when_it_comes(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bootstrap = broker.bootstrap
    early = refund("m-tr4", "o-tr4", "300.00", "r-tr8")
    too_large = refund("m-tr4", "o-tr4b", "100.01", "r-tr9")
    await publish_events(bootstrap, COMMERCE_PURCHASES, [early, too_large])
    await eventually(lambda: waiting(tiers_app), lambda n: n == 2)
    assert (await tier_of(tiers_api, "m-tr4"))["qualifying_spend"] == "0", "not off its own day"
    assert not await read_all(bootstrap, DLQ, expect=1, timeout_s=1), "kept, not refused"

    await publish_events(
        bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase("m-tr4", "5200.00", order_id="o-tr4", days_ago=3),
            purchase("m-tr4", "100.00", order_id="o-tr4b"),
        ],
    )

    body = await eventually(
        lambda: tier_of(tiers_api, "m-tr4"), lambda b: b["qualifying_spend"] == "5000.00"
    )
    assert body["tier"] == "silver"
    [dead] = await read_all(bootstrap, DLQ, expect=1)
    assert codes([dead]) == ["refund-exceeds-order"]
    assert dead.value == encode(too_large)
    assert "error.partition" not in dict(dead.headers), "refused when its purchase came"
    assert await waiting(tiers_app) == 0


async def test_the_upgrade_check_sees_a_refund_that_waited_for_its_purchase(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [refund("m-tr5", "o-tr5", "300.00", "r-tr10")]
    )
    await eventually(lambda: waiting(tiers_app), lambda n: n == 1)

    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-tr5", "5200.00", order_id="o-tr5")]
    )

    body = await eventually(
        lambda: tier_of(tiers_api, "m-tr5"), lambda b: b["qualifying_spend"] == "4900.00"
    )
    assert body["tier"] == "bronze"


async def test_a_refund_whose_purchase_never_comes_is_dead_lettered_after_the_wait(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    orphan = refund("m-tr6", "o-never-sold", "50.00", "r-tr11")
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [orphan])
    await eventually(lambda: waiting(tiers_app), lambda n: n == 1)
    now = datetime.now(UTC)

    soon, later, again = [await swept(tiers_app, now + timedelta(days=d)) for d in (6, 8, 9)]

    assert (soon, later, again) == ((0, 0), (0, 1), (0, 0))
    [dead] = await read_all(broker.bootstrap, DLQ, expect=1)
    headers = dict(dead.headers)
    assert (headers["error.code"], headers["error.service"]) == (b"unknown-order", b"tiers")
    assert "error.partition" not in headers
    assert (dead.key, dead.value) == (b"m-tr6", encode(orphan))
    assert (await tier_of(tiers_api, "m-tr6"))["qualifying_spend"] == "0"


async def test_a_refund_of_an_order_recorded_before_totals_were_kept_is_refused(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    pool = runtime_of(tiers_app).pool
    await pool.execute(
        "INSERT INTO order_day (order_id, member_id, day) VALUES ('o-tr7', 'm-tr7', $1)",
        datetime.now(UTC).date(),
    )
    await pool.execute(
        "INSERT INTO spend_day (member_id, day, amount) VALUES ('m-tr7', $1, 700)",
        datetime.now(UTC).date(),
    )

    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [refund("m-tr7", "o-tr7", "100.00", "r-tr12")]
    )

    [dead] = await read_all(broker.bootstrap, DLQ, expect=1)
    assert codes([dead]) == ["order-total-unknown"]
    assert (await tier_of(tiers_api, "m-tr7"))["qualifying_spend"] == "700.00"


def _read(event: dict[str, Any]) -> Decoded[Any]:
    """As the runner hands it to a handler: decoded, with the record it was read from."""
    value = encode(event)
    decoded = decode_event(value, MODELS)
    assert isinstance(decoded, Decoded)
    return msgspec.structs.replace(decoded, raw=RawRecord(COMMERCE_PURCHASES, b"k", value, ()))


async def test_a_refund_parked_while_its_purchase_was_being_recorded_is_judged_by_the_sweep(
    tiers_app: FastAPI, broker: LocalBroker
) -> None:
    """A refund naming another member's order travels on another partition than the purchase:
    judged by one consumer while the other records the purchase, neither transaction sees the
    other's rows, and the refund is parked where the purchase's unparking cannot see it (chaos
    seed 103 in tiers, seed 201 in points). The next sweep, seconds later, judges it."""
    state, pool = state_of(tiers_app, TiersState), runtime_of(tiers_app).pool
    refunds = refund_intake(state.program)
    async with (
        pool.acquire() as buying,
        pool.acquire() as refunding,
        buying.transaction(),
        refunding.transaction(),
    ):
        await purchases_handler(state.program, state.clock, refunds)(
            buying, [_read(purchase("m-tr-race1", "100.00", order_id="o-tr-race1"))]
        )
        await refunds.handle(
            refunding, [_read(refund("m-tr-race2", "o-tr-race1", "1.00", "r-tr-race"))]
        )
    assert await waiting(tiers_app) == 1, "parked: the purchase was not visible yet"

    assert await swept(tiers_app, datetime.now(UTC)) == (1, 0)
    assert await waiting(tiers_app) == 0
    [dead] = await read_all(broker.bootstrap, DLQ, expect=1)
    assert codes([dead]) == ["member-mismatch"]
