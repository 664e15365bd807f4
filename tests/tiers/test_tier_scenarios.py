"""Tiers by qualifying spend over the last 365 days (contract section 2; tiers issue scenarios)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_TIERS
from loyalty_shared.runtime import runtime_of
from loyalty_tiers.evaluation.jobs import evaluate, warn
from loyalty_tiers.state import TiersState
from tests.points.test_refunds import refund
from tests.support.events import purchase
from tests.support.kafka import publish_events, read_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

ADMIN = bearer("ops-1", admin=True)


async def tier_of(api: httpx.AsyncClient, member_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/members/{member_id}/tier", headers=bearer(member_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_member_never_seen_is_bronze_with_zero_spend(tiers_api: httpx.AsyncClient) -> None:
    body = await tier_of(tiers_api, "m-nobody")

    assert body["tier"] == "bronze"
    assert body["qualifying_spend"] == "0"
    assert body["next_tier"] == "silver"
    assert body["spend_to_next_tier"] == "5000"
    assert body["tier_valid_until"] is None


async def test_5200_of_spend_makes_silver_at_once(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-t1", "5200.00")])

    body = await eventually(lambda: tier_of(tiers_api, "m-t1"), lambda b: b["tier"] == "silver")

    assert body["qualifying_spend"] == "5200.00"
    assert (body["next_tier"], body["spend_to_next_tier"]) == ("gold", "14800.00")
    [change] = await read_events(broker.bootstrap, LOYALTY_TIERS, expect=1)
    data = change["data"]
    assert (data["from_tier"], data["to_tier"], data["direction"], data["reason"]) == (
        "bronze",
        "silver",
        "up",
        "spend",
    )
    assert data["multiplier"] == "1.25"


async def test_4000_then_a_refund_of_500_then_1700_is_silver_only_when_the_third_lands(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bootstrap = broker.bootstrap
    await publish_events(
        bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-t2", "4000.00", order_id="o-t2"), refund("m-t2", "o-t2", "500.00", "r-t2")],
    )
    body = await eventually(
        lambda: tier_of(tiers_api, "m-t2"), lambda b: b["qualifying_spend"] == "3500.00"
    )
    assert body["tier"] == "bronze"

    await publish_events(bootstrap, COMMERCE_PURCHASES, [purchase("m-t2", "1700.00")])

    body = await eventually(lambda: tier_of(tiers_api, "m-t2"), lambda b: b["tier"] == "silver")
    assert body["qualifying_spend"] == "5200.00"


async def test_a_purchase_400_days_old_does_not_qualify_but_a_late_one_inside_the_window_does(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-t3", "60000.00", days_ago=400), purchase("m-t3", "4000.00", days_ago=10)],
    )
    body = await eventually(
        lambda: tier_of(tiers_api, "m-t3"), lambda b: b["qualifying_spend"] == "4000.00"
    )
    assert body["tier"] == "bronze"

    # arrives late, belongs to 200 days ago: still inside the window, crosses the threshold
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-t3", "1000.00", days_ago=200)]
    )

    await eventually(lambda: tier_of(tiers_api, "m-t3"), lambda b: b["tier"] == "silver")


async def test_crossing_two_thresholds_at_once_upgrades_two_tiers(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-t4", "25000.00")])

    body = await eventually(lambda: tier_of(tiers_api, "m-t4"), lambda b: b["tier"] != "bronze")

    assert body["tier"] == "gold"


async def test_the_tier_lists_its_benefits_and_an_upgrade_names_the_new_ones(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-t5", "25000.00")])

    body = await eventually(lambda: tier_of(tiers_api, "m-t5"), lambda b: b["tier"] == "gold")

    assert [b["id"] for b in body["benefits"]] == ["points-1.5x", "free-shipping", "early-access"]
    assert body["benefits"][1]["name"] == {
        "zh-CN": "所有订单免运费",
        "en": "Free shipping on every order",
    }
    changes = await read_events(broker.bootstrap, LOYALTY_TIERS, expect=1)
    data = changes[0]["data"]
    assert [b["id"] for b in data["new_benefits"]] == [
        "points-1.5x",
        "free-shipping",
        "early-access",
    ]
    assert data["new_benefits"][2]["name"]["zh-CN"] == "新品抢先购"


async def test_gold_reached_400_days_ago_without_spend_drops_to_silver_not_bronze(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-t5", "20000.00")])
    await eventually(lambda: tier_of(tiers_api, "m-t5"), lambda b: b["tier"] == "gold")
    program, pool = state_of(tiers_app, TiersState).program, runtime_of(tiers_app).pool
    later = datetime.now(UTC) + timedelta(days=400)

    assert await evaluate(pool, program, later) == 1
    assert await evaluate(pool, program, later) == 0, "once per member and day"

    async with pool.acquire() as conn:
        tier = await conn.fetchval("SELECT tier FROM member_tier WHERE member_id = 'm-t5'")
    assert tier == "silver"
    next_day = later + timedelta(days=1)
    assert await evaluate(pool, program, next_day) == 0, "silver is kept a year"
    assert await evaluate(pool, program, later + timedelta(days=366)) == 1
    history = (await tiers_api.get("/v1/members/m-t5/tier/history", headers=bearer("m-t5"))).json()[
        "items"
    ]
    assert [(h["from_tier"], h["to_tier"], h["reason"]) for h in history] == [
        ("silver", "bronze", "evaluation"),
        ("gold", "silver", "evaluation"),
        ("bronze", "gold", "spend"),
    ]


async def test_an_admin_override_holds_against_the_evaluation_until_it_expires(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    until = datetime.now(UTC) + timedelta(days=500)
    path = "/v1/members/m-t6/tier"
    body = {"tier": "platinum", "reason": "status match", "expires_at": until.isoformat()}
    assert (await tiers_api.put(path, json=body, headers=bearer("m-t6"))).status_code == 403
    assert (
        await tiers_api.put(path, json={**body, "tier": "diamond"}, headers=ADMIN)
    ).status_code == 422

    response = await tiers_api.put(path, json=body, headers=ADMIN)

    assert response.status_code == 200, response.text
    assert response.json()["tier"] == "platinum"
    program, pool = state_of(tiers_app, TiersState).program, runtime_of(tiers_app).pool
    assert await evaluate(pool, program, datetime.now(UTC) + timedelta(days=450)) == 0
    assert await evaluate(pool, program, until + timedelta(days=1)) == 1
    assert (await tier_of(tiers_api, "m-t6"))["tier"] == "gold", "then one step at a time"


async def test_the_tier_says_what_spend_keeps_it_by_when(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-t7", "3000.00", days_ago=100), purchase("m-t7", "2500.00")],
    )

    body = await eventually(lambda: tier_of(tiers_api, "m-t7"), lambda b: b["tier"] == "silver")

    # the evaluation comes 365 days after silver was reached, when both purchases have left the
    # window: keeping silver takes another 5,000 of spend from now until then
    assert body["keep"]["spend_needed"] == "5000"
    assert body["keep"]["by"] == body["tier_valid_until"]


async def test_a_member_whose_spend_will_not_keep_the_tier_is_warned_30_days_ahead_once(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-t8", "5000.00"), purchase("m-t9", "5000.00")],
    )
    await eventually(lambda: tier_of(tiers_api, "m-t8"), lambda b: b["tier"] == "silver")
    await eventually(lambda: tier_of(tiers_api, "m-t9"), lambda b: b["tier"] == "silver")
    program, pool = state_of(tiers_app, TiersState).program, runtime_of(tiers_app).pool
    soon = datetime.now(UTC) + timedelta(days=340)

    assert await warn(pool, program, datetime.now(UTC)) == 0, "not yet within 30 days"
    assert await warn(pool, program, soon) == 2
    assert await warn(pool, program, soon + timedelta(days=1)) == 0, "once per validity period"

    events = await read_events(broker.bootstrap, LOYALTY_TIERS, expect=4)
    warnings = [e["data"] for e in events if e["type"] == "tier.downgrade_warning"]
    assert sorted(w["member_id"] for w in warnings) == ["m-t8", "m-t9"]
    assert {(w["tier"], w["would_drop_to"], w["spend_needed"]) for w in warnings} == {
        ("silver", "bronze", "5000.00")
    }
