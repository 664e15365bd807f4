"""Checkout holds: the shop reserves points for a basket, then commits or releases them, so two
open carts never spend the same points (issue 3, item 9)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_points.audit.service import audit
from loyalty_points.lifecycle.jobs import run_due
from loyalty_points.settings import PointsSettings
from loyalty_shared.program.loader import load_program
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.points.test_redemptions import grant
from tests.support.tokens import bearer

MEMBER = "m-hold"
PROGRAM = load_program()


async def hold(
    api: httpx.AsyncClient, points: int, *, key: str | None = None, **body: Any
) -> httpx.Response:
    return await api.post(
        f"/v1/members/{MEMBER}/holds",
        json={"points": points, **body},
        headers={**bearer(MEMBER), "Idempotency-Key": key or str(uuid.uuid4())},
    )


async def settle(api: httpx.AsyncClient, hold_id: str, action: str) -> httpx.Response:
    return await api.post(f"/v1/members/{MEMBER}/holds/{hold_id}/{action}", headers=bearer(MEMBER))


async def test_held_points_leave_available_until_committed_as_a_redemption(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 500)

    reserved = await hold(points_api, 300, reference="basket-1")
    during = await balance_of(points_api, MEMBER)
    committed = await settle(points_api, reserved.json()["id"], "commit")
    after = await balance_of(points_api, MEMBER)

    assert reserved.status_code == 201, reserved.text
    assert (during["available"], during["held"]) == (200, 300)
    assert committed.status_code == 200
    assert committed.json()["status"] == "committed"
    assert committed.json()["redemption_id"] is not None
    assert (after["available"], after["held"]) == (200, 0)
    assert after["lifetime_earned"] == 500


async def test_two_open_carts_cannot_both_spend_the_same_points(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 500)

    first_cart, second_cart = await asyncio.gather(hold(points_api, 400), hold(points_api, 400))
    redemption = await points_api.post(
        f"/v1/members/{MEMBER}/redemptions",
        json={"points": 200},
        headers={**bearer(MEMBER), "Idempotency-Key": "meanwhile"},
    )

    assert sorted([first_cart.status_code, second_cart.status_code]) == [201, 409]
    assert redemption.status_code == 409  # 100 left outside the hold


async def test_a_released_hold_gives_the_points_back_and_cannot_be_committed(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 100)
    hold_id = (await hold(points_api, 100)).json()["id"]

    released = await settle(points_api, hold_id, "release")
    again = await settle(points_api, hold_id, "release")
    commit = await settle(points_api, hold_id, "commit")

    assert released.json()["status"] == "released"
    assert again.status_code == 200
    assert commit.status_code == 409
    body = await balance_of(points_api, MEMBER)
    assert (body["available"], body["held"]) == (100, 0)


async def test_a_hold_whose_time_ran_out_is_released_by_the_jobs(
    points_app: FastAPI, points_api: httpx.AsyncClient
) -> None:
    await grant(points_api, MEMBER, 100)
    hold_id = (await hold(points_api, 60, ttl_seconds=60)).json()["id"]

    await run_due(runtime_of(points_app).pool, PROGRAM, datetime.now(UTC) + timedelta(seconds=30))
    still = await points_api.get(f"/v1/members/{MEMBER}/holds/{hold_id}", headers=bearer(MEMBER))
    done = await run_due(
        runtime_of(points_app).pool, PROGRAM, datetime.now(UTC) + timedelta(minutes=2)
    )
    gone = await points_api.get(f"/v1/members/{MEMBER}/holds/{hold_id}", headers=bearer(MEMBER))
    commit = await settle(points_api, hold_id, "commit")

    assert still.json()["status"] == "active"
    assert done["settle"] == 1
    assert gone.json()["status"] == "expired"
    assert commit.status_code == 409
    assert (await balance_of(points_api, MEMBER))["available"] == 100


async def test_the_same_key_replays_the_hold_and_another_body_is_422(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 100)

    first = await hold(points_api, 50, key="cart-7")
    replay = await hold(points_api, 50, key="cart-7")
    other = await hold(points_api, 70, key="cart-7")
    missing_key = await points_api.post(
        f"/v1/members/{MEMBER}/holds", json={"points": 5}, headers=bearer(MEMBER)
    )

    assert replay.json() == first.json()
    assert other.status_code == 422
    assert missing_key.status_code == 400
    assert (await balance_of(points_api, MEMBER))["held"] == 50


async def test_cancelling_a_committed_holds_redemption_returns_the_points(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 100)
    committed = await settle(points_api, (await hold(points_api, 80)).json()["id"], "commit")

    cancel = await points_api.post(
        f"/v1/members/{MEMBER}/redemptions/{committed.json()['redemption_id']}/cancellation",
        headers=bearer("ops-1", admin=True),
    )

    assert cancel.json()["status"] == "cancelled"
    assert (await balance_of(points_api, MEMBER))["available"] == 100


async def test_the_ledger_tells_the_story_of_a_hold_and_the_audit_agrees(
    points_api: httpx.AsyncClient, points_settings: PointsSettings
) -> None:
    await grant(points_api, MEMBER, 100)
    await settle(points_api, (await hold(points_api, 30)).json()["id"], "commit")
    await settle(points_api, (await hold(points_api, 20)).json()["id"], "release")
    await hold(points_api, 10)

    page = await points_api.get(f"/v1/members/{MEMBER}/points/transactions", headers=bearer(MEMBER))
    report = await audit(points_settings.database_url)

    assert [(e["type"], e["points"]) for e in page.json()["items"]] == [
        ("hold", 0),
        ("hold_release", 0),
        ("hold", 0),
        ("redeem", -30),
        ("hold", 0),
        ("adjust", 100),
    ]
    assert report.clean, report.lines()


async def test_a_hold_refused_for_want_of_points_is_refused_again_under_its_key(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 30)

    refused = await hold(points_api, 40, key="cart-short")
    await grant(points_api, MEMBER, 30)
    again = await hold(points_api, 40, key="cart-short")

    assert refused.status_code == again.status_code == 409
    assert (await balance_of(points_api, MEMBER))["held"] == 0
