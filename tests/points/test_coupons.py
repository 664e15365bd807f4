"""A reward's coupon after its redemption: the shop reports its use on a purchase (once, by the
first), support may cancel it while unused, and unused it is remembered, then expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.audit.service import audit
from loyalty_points.rewards.jobs import run_due
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from loyalty_shared.program.schema import Rewards
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of, consumer_is_assigned
from tests.points.test_redemptions import grant
from tests.points.test_rewards import MARKETING, SUPPORT, add_reward, redeem
from tests.support.events import purchase
from tests.support.kafka import publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MEMBER = "m-7101"


async def redeemed(api: httpx.AsyncClient, **reward: Any) -> dict[str, Any]:
    await add_reward(api, **reward)
    await grant(api, MEMBER, 1000)
    response = await redeem(api, MEMBER, reward.get("reward_id", "coffee"))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def coupon_of(api: httpx.AsyncClient, redemption: dict[str, Any]) -> dict[str, Any]:
    response = await api.get(
        f"/v1/members/{MEMBER}/reward-redemptions/{redemption['redemption_id']}",
        headers=bearer(MEMBER),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def cancel(
    api: httpx.AsyncClient, redemption: dict[str, Any], **headers: str
) -> httpx.Response:
    return await api.post(
        f"/v1/members/{MEMBER}/reward-redemptions/{redemption['redemption_id']}/cancellation",
        headers=headers or SUPPORT,
    )


async def events_of(broker: LocalBroker, event_type: str, expect: int) -> list[dict[str, Any]]:
    records = await read_all(broker.bootstrap, LOYALTY_POINTS, expect=expect, timeout_s=5)
    events = [orjson.loads(r.value or b"null") for r in records]
    return [e["data"] for e in events if e["type"] == event_type]


async def test_a_coupon_named_by_two_purchases_is_used_once_by_the_first_and_both_earn(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    coupon = await redeemed(points_api)
    code = coupon["coupon_code"]
    await consumer_is_assigned(points_app)

    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase(MEMBER, "200.00", days_ago=20, order_id="o-c1", coupons=[code, "SHOP10"]),
            purchase(MEMBER, "100.00", days_ago=20, order_id="o-c2", coupons=[code]),
        ],
    )
    await eventually(lambda: balance_of(points_api, MEMBER), lambda b: b["available"] == 1200)

    used = await coupon_of(points_api, coupon)
    assert (used["status"], used["used_order_id"]) == ("used", "o-c1")
    published = await events_of(broker, "coupon.used", expect=6)
    assert [(e["coupon_code"], e["order_id"]) for e in published] == [(code, "o-c1")]
    assert published[0]["redemption_id"] == coupon["redemption_id"]


async def test_cancelling_before_use_returns_the_points_and_the_unit_and_voids_the_code(
    points_api: httpx.AsyncClient, points_settings: PointsSettings, broker: LocalBroker
) -> None:
    coupon = await redeemed(points_api, stock=1)

    by_member = await cancel(points_api, coupon, **bearer(MEMBER))
    cancelled = await cancel(points_api, coupon)
    again = await cancel(points_api, coupon)

    assert by_member.status_code == 403
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == again.json()["status"] == "cancelled"
    assert (await balance_of(points_api, MEMBER))["available"] == 1000, "given back once"
    stock = (await points_api.get("/v1/rewards/coffee", headers=MARKETING)).json()["stock"]
    assert stock == 1
    second = (await redeem(points_api, MEMBER, "coffee")).json()
    assert second["coupon_code"] != coupon["coupon_code"], "a voided code is never issued again"
    voided = await events_of(broker, "coupon.voided", expect=6)
    assert [e["coupon_code"] for e in voided] == [coupon["coupon_code"]]
    assert (await audit(points_settings.database_url)).clean


async def test_a_used_coupon_cannot_be_cancelled(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    coupon = await redeemed(points_api)
    await consumer_is_assigned(points_app)
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase(MEMBER, "50.00", days_ago=20, coupons=[coupon["coupon_code"]])],
    )
    await eventually(lambda: coupon_of(points_api, coupon), lambda c: c["status"] == "used")

    refused = await cancel(points_api, coupon)

    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:loyalty:problem:coupon-used"
    assert (await balance_of(points_api, MEMBER))["available"] == 950


async def test_an_unused_coupon_is_remembered_a_week_ahead_then_expires_keeping_its_points(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    coupon = await redeemed(points_api)
    expires = datetime.fromisoformat(coupon["coupon_expires_at"])
    pool, rules = runtime_of(points_app).pool, Rewards()

    early = await run_due(pool, rules, expires - timedelta(days=8))
    reminded = await run_due(pool, rules, expires - timedelta(days=6))
    again = await run_due(pool, rules, expires - timedelta(days=5))
    expired = await run_due(pool, rules, expires + timedelta(seconds=1))

    assert (early["remind"], reminded["remind"], again["remind"]) == (0, 1, 0)
    assert expired["expire"] == 1
    assert (await coupon_of(points_api, coupon))["status"] == "expired"
    assert (await balance_of(points_api, MEMBER))["available"] == 900
    [expiring] = await events_of(broker, "coupon.expiring", expect=6)
    assert expiring["coupon_code"] == coupon["coupon_code"]
    assert expiring["reward_name"]["zh-CN"] == "咖啡券"
    [gone] = await events_of(broker, "coupon.expired", expect=6)
    assert (gone["coupon_code"], gone["points_returned"]) == (coupon["coupon_code"], 0)
    assert (await cancel(points_api, coupon)).status_code == 409


async def test_a_program_may_give_an_expired_coupons_points_back(
    points_app: FastAPI, points_api: httpx.AsyncClient, points_settings: PointsSettings
) -> None:
    coupon = await redeemed(points_api)
    expires = datetime.fromisoformat(coupon["coupon_expires_at"])

    done = await run_due(
        runtime_of(points_app).pool,
        Rewards(return_points_on_coupon_expiry=True),
        expires + timedelta(seconds=1),
    )

    assert done["expire"] == 1
    assert (await balance_of(points_api, MEMBER))["available"] == 1000
    assert (await coupon_of(points_api, coupon))["status"] == "expired"
    assert (await audit(points_settings.database_url)).clean


async def test_a_members_history_lists_their_coupons_newest_first(
    points_api: httpx.AsyncClient,
) -> None:
    first = await redeemed(points_api)
    await add_reward(points_api, reward_id="tea", points=50)
    second = (await redeem(points_api, MEMBER, "tea")).json()
    await cancel(points_api, first)
    path = f"/v1/members/{MEMBER}/reward-redemptions"

    page = (await points_api.get(path, params={"limit": 1}, headers=bearer(MEMBER))).json()
    rest = (
        await points_api.get(
            path, params={"limit": 1, "cursor": page["next_cursor"]}, headers=bearer(MEMBER)
        )
    ).json()

    assert [(i["reward_id"], i["status"]) for i in page["items"] + rest["items"]] == [
        ("tea", "issued"),
        ("coffee", "cancelled"),
    ]
    assert page["items"][0]["coupon_code"] == second["coupon_code"]
    assert rest["next_cursor"] is None
    assert datetime.fromisoformat(rest["items"][0]["cancelled_at"]) <= datetime.now(UTC)
