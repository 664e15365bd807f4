"""The rewards catalogue and redeeming a reward (contract 5.2): all or nothing, the contract's
reasons for a refusal, once per Idempotency-Key, the last unit to exactly one member."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_points.audit.service import audit
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import LOYALTY_TIERS
from tests.points.test_crediting_purchases import balance_of, consumer_is_assigned
from tests.points.test_redemptions import grant
from tests.support.events import tier_changed
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MARKETING = bearer("mkt-1", scopes=("loyalty:marketing",))
SUPPORT = bearer("cs-1", scopes=("loyalty:support",))
MEMBER = "m-7001"


def reward_body(reward_id: str = "coffee", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reward_id": reward_id,
        "name": {"zh-CN": "咖啡券", "en": "Coffee voucher"},
        "points": 100,
        "stock": None,
        "coupon": {"value": "15.00", "currency": "CNY", "valid_days": 30},
    }
    body.update(overrides)
    return body


async def add_reward(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/rewards", json=reward_body(**body), headers=MARKETING)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def redeem(
    api: httpx.AsyncClient, member_id: str, reward_id: str, key: str | None = None
) -> httpx.Response:
    return await api.post(
        f"/v1/members/{member_id}/reward-redemptions",
        json={"reward_id": reward_id},
        headers={**bearer(member_id), "Idempotency-Key": key or str(uuid.uuid4())},
    )


def problem(response: httpx.Response) -> str:
    assert response.status_code == 409, response.text
    return str(response.json()["type"]).rsplit(":", 1)[1]


# --- the catalogue -----------------------------------------------------------------------


async def test_a_reward_with_every_mistake_is_422_listing_each_and_nothing_is_stored(
    points_api: httpx.AsyncClient,
) -> None:
    body = reward_body(
        points=-5,
        min_tier="diamond",
        available_from="2026-12-20T00:00:00+08:00",
        available_until="2026-12-10T00:00:00+08:00",
        name={"en": "Coffee voucher"},
        coupon={"value": "15.00", "currency": "XYZ", "valid_days": 30},
    )

    response = await points_api.post("/v1/rewards", json=body, headers=MARKETING)

    assert response.status_code == 422
    assert {e["location"] for e in response.json()["errors"]} == {
        "body.points",
        "body.min_tier",
        "body.available_until",
        "body.name.zh-CN",
        "body.coupon.currency",
    }
    listed = await points_api.get("/v1/rewards", headers=MARKETING)
    assert listed.json()["items"] == []


async def test_only_marketing_or_an_admin_keeps_the_catalogue(
    points_api: httpx.AsyncClient,
) -> None:
    as_member = await points_api.post("/v1/rewards", json=reward_body(), headers=bearer(MEMBER))
    as_support = await points_api.post("/v1/rewards", json=reward_body(), headers=SUPPORT)
    as_admin = await points_api.post(
        "/v1/rewards", json=reward_body(), headers=bearer("ops-1", admin=True)
    )

    assert (as_member.status_code, as_support.status_code, as_admin.status_code) == (403, 403, 201)
    again = await points_api.post("/v1/rewards", json=reward_body(), headers=MARKETING)
    assert again.status_code == 409


async def test_the_catalogue_lists_units_left_and_a_change_sets_them(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api, reward_id="mug", stock=5)
    await add_reward(points_api, reward_id="tote")
    await grant(points_api, MEMBER, 1000)
    assert (await redeem(points_api, MEMBER, "mug")).status_code == 201

    listed = (await points_api.get("/v1/rewards", headers=MARKETING)).json()
    changed = await points_api.put(
        "/v1/rewards/mug",
        json={k: v for k, v in reward_body(stock=2, points=150).items() if k != "reward_id"},
        headers=MARKETING,
    )

    assert {r["reward_id"]: r["stock"] for r in listed["items"]} == {"mug": 4, "tote": None}
    assert changed.status_code == 200, changed.text
    assert (changed.json()["stock"], changed.json()["points"]) == (2, 150)


async def test_a_retired_reward_is_not_available_and_its_coupons_stay_valid(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api)
    await grant(points_api, MEMBER, 1000)
    issued = (await redeem(points_api, MEMBER, "coffee")).json()

    retired = await points_api.post("/v1/rewards/coffee/retirement", headers=MARKETING)
    refused = await redeem(points_api, MEMBER, "coffee")

    assert retired.json()["status"] == "retired"
    assert problem(refused) == "not-available"
    coupon = await points_api.get(
        f"/v1/members/{MEMBER}/reward-redemptions/{issued['redemption_id']}",
        headers=bearer(MEMBER),
    )
    assert coupon.json()["status"] == "issued"
    assert (await points_api.get(f"/v1/members/{MEMBER}/rewards", headers=bearer(MEMBER))).json()[
        "items"
    ] == []


async def test_uploaded_codes_are_all_stored_or_none_and_running_out_is_out_of_stock(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api, reward_id="cinema", codes="pool")
    path = "/v1/rewards/cinema/codes"
    first = await points_api.post(path, json={"codes": ["CIN-0001", "CIN-0002"]}, headers=MARKETING)
    twice = await points_api.post(path, json={"codes": ["CIN-0003", "CIN-0003"]}, headers=MARKETING)
    known = await points_api.post(path, json={"codes": ["CIN-0004", "CIN-0001"]}, headers=MARKETING)

    assert first.status_code == 201
    assert first.json()["stock"] == 2
    assert twice.status_code == known.status_code == 409
    assert "CIN-0001" in known.json()["detail"]
    reward = (await points_api.get("/v1/rewards/cinema", headers=MARKETING)).json()
    assert reward["stock"] == 2, "nothing of a refused upload is stored"

    await grant(points_api, MEMBER, 1000)
    codes = [(await redeem(points_api, MEMBER, "cinema")).json()["coupon_code"] for _ in range(2)]
    assert sorted(codes) == ["CIN-0001", "CIN-0002"]
    assert problem(await redeem(points_api, MEMBER, "cinema")) == "out-of-stock"


# --- redeeming ---------------------------------------------------------------------------


async def test_a_redemption_spends_the_points_and_issues_an_unguessable_coupon(
    points_api: httpx.AsyncClient, points_settings: PointsSettings
) -> None:
    await add_reward(points_api)
    await grant(points_api, MEMBER, 250)

    response = await redeem(points_api, MEMBER, "coffee")

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["reward_id"], body["points"], body["status"]) == ("coffee", 100, "issued")
    code = body["coupon_code"]
    assert len(code.replace("-", "")) == 12
    assert not set(code) & set("01ILOUV")
    expires = datetime.fromisoformat(body["coupon_expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert (await balance_of(points_api, MEMBER))["available"] == 150
    ledger = (
        await points_api.get(f"/v1/members/{MEMBER}/points/transactions", headers=bearer(MEMBER))
    ).json()["items"]
    assert (ledger[0]["type"], ledger[0]["points"]) == ("redeem", -100)
    assert str(ledger[0]["cause"]["redemption_id"]) == body["redemption_id"]
    assert (await audit(points_settings.database_url)).clean


async def test_the_same_key_replays_the_same_coupon_and_another_body_is_422(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api)
    await add_reward(points_api, reward_id="tea")
    await grant(points_api, MEMBER, 1000)
    key = str(uuid.uuid4())

    first = await redeem(points_api, MEMBER, "coffee", key)
    replays = await asyncio.gather(*(redeem(points_api, MEMBER, "coffee", key) for _ in range(5)))
    other = await redeem(points_api, MEMBER, "tea", key)

    assert first.status_code == 201
    assert all(r.json() == first.json() for r in replays)
    assert other.status_code == 422
    assert (await balance_of(points_api, MEMBER))["available"] == 900


async def test_a_refusal_is_kept_under_its_key_like_a_redemption(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api, stock=1)
    await grant(points_api, MEMBER, 150)
    short_key, stock_key = str(uuid.uuid4()), str(uuid.uuid4())
    assert (await redeem(points_api, "m-other", "coffee")).status_code == 409
    await grant(points_api, "m-other", 100)
    assert (await redeem(points_api, "m-other", "coffee")).status_code == 201

    out = await redeem(points_api, MEMBER, "coffee", stock_key)
    await points_api.put(
        "/v1/rewards/coffee",
        json={k: v for k, v in reward_body(stock=5, points=200).items() if k != "reward_id"},
        headers=MARKETING,
    )
    short = await redeem(points_api, MEMBER, "coffee", short_key)
    await grant(points_api, MEMBER, 100)

    assert problem(out) == problem(await redeem(points_api, MEMBER, "coffee", stock_key))
    assert problem(out) == "out-of-stock", "answered again though stock came back"
    assert problem(short) == problem(await redeem(points_api, MEMBER, "coffee", short_key))
    assert problem(short) == "insufficient-points"
    assert (await redeem(points_api, MEMBER, "coffee")).status_code == 201


async def test_a_reward_not_in_the_catalogue_is_422_and_a_missing_key_400(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 1000)
    no_key = await points_api.post(
        f"/v1/members/{MEMBER}/reward-redemptions",
        json={"reward_id": "coffee"},
        headers=bearer(MEMBER),
    )

    unknown = await redeem(points_api, MEMBER, "no-such-reward")

    assert unknown.status_code == 422
    assert unknown.json()["type"] == "urn:loyalty:problem:unknown-reward"
    assert no_key.status_code == 400
    assert (await balance_of(points_api, MEMBER))["available"] == 1000


async def test_the_last_unit_among_fifty_members_goes_to_exactly_three_with_a_stock_of_three(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api, stock=3)
    members = [f"m-race-{n:02d}" for n in range(50)]
    await asyncio.gather(*(grant(points_api, m, 120) for m in members))

    responses = await asyncio.gather(*(redeem(points_api, m, "coffee") for m in members))

    winners = [m for m, r in zip(members, responses, strict=True) if r.status_code == 201]
    assert len(winners) == 3
    assert all(problem(r) == "out-of-stock" for r in responses if r.status_code != 201)
    assert len({r.json()["coupon_code"] for r in responses if r.status_code == 201}) == 3
    balances = await asyncio.gather(*(balance_of(points_api, m) for m in members))
    assert sorted(b["available"] for b in balances) == [20] * 3 + [120] * 47
    reward = (await points_api.get("/v1/rewards/coffee", headers=MARKETING)).json()
    assert reward["stock"] == 0


async def test_the_per_member_limit_holds_under_concurrent_requests(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api, per_member_limit=2)
    await grant(points_api, MEMBER, 10_000)

    responses = await asyncio.gather(*(redeem(points_api, MEMBER, "coffee") for _ in range(10)))

    assert sorted(r.status_code for r in responses) == [201, 201] + [409] * 8
    assert {problem(r) for r in responses if r.status_code == 409} == {"limit-reached"}
    assert (await balance_of(points_api, MEMBER))["available"] == 9_800


async def test_a_reward_for_a_higher_tier_is_refused_until_the_member_reaches_it(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: Any
) -> None:
    await add_reward(points_api, min_tier="gold")
    await grant(points_api, MEMBER, 1000)
    view = await points_api.get(f"/v1/members/{MEMBER}/rewards", headers=bearer(MEMBER))

    refused = await redeem(points_api, MEMBER, "coffee")
    await consumer_is_assigned(points_app)
    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed(MEMBER, "gold")])
    await eventually(
        lambda: points_api.get(f"/v1/members/{MEMBER}/rewards", headers=bearer(MEMBER)),
        lambda r: len(r.json()["items"]) == 1,
    )

    assert view.json()["items"] == []
    assert problem(refused) == "tier-too-low"
    assert (await redeem(points_api, MEMBER, "coffee")).status_code == 201
    assert (await balance_of(points_api, MEMBER))["available"] == 900


async def test_outside_its_dates_a_reward_is_not_available(
    points_api: httpx.AsyncClient,
) -> None:
    now = datetime.now(UTC)
    await add_reward(points_api, reward_id="later", available_from=str(now + timedelta(days=1)))
    await add_reward(
        points_api,
        reward_id="over",
        available_from=str(now - timedelta(days=9)),
        available_until=str(now - timedelta(days=1)),
    )
    await grant(points_api, MEMBER, 1000)

    assert problem(await redeem(points_api, MEMBER, "later")) == "not-available"
    assert problem(await redeem(points_api, MEMBER, "over")) == "not-available"
    assert (await balance_of(points_api, MEMBER))["available"] == 1000


async def test_a_members_view_lists_what_they_may_redeem_now_and_whether_they_can_afford_it(
    points_api: httpx.AsyncClient,
) -> None:
    await add_reward(points_api, reward_id="cheap", points=50)
    await add_reward(points_api, reward_id="dear", points=500)
    await add_reward(points_api, reward_id="once", points=10, per_member_limit=1)
    await add_reward(points_api, reward_id="gone", points=10, stock=0)
    await add_reward(points_api, reward_id="vip", points=10, min_tier="platinum")
    await grant(points_api, MEMBER, 100)
    assert (await redeem(points_api, MEMBER, "once")).status_code == 201

    view = (await points_api.get(f"/v1/members/{MEMBER}/rewards", headers=bearer(MEMBER))).json()
    other = await points_api.get(f"/v1/members/{MEMBER}/rewards", headers=bearer("m-x"))

    assert view["available"] == 90
    assert [(r["reward_id"], r["affordable"]) for r in view["items"]] == [
        ("cheap", True),
        ("dear", False),
    ]
    assert other.status_code == 403
