"""Spending points: never more than is available, once per Idempotency-Key (contract section 3)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.points.test_crediting_purchases import balance_of
from tests.support.tokens import bearer

MEMBER = "m-8001"
ADMIN = bearer("ops-1", admin=True)


async def grant(api: httpx.AsyncClient, member_id: str, points: int) -> None:
    response = await api.post(
        f"/v1/members/{member_id}/adjustments",
        json={"points": points, "reason": "welcome bonus"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text


async def redeem(
    api: httpx.AsyncClient, points: int, key: str | None = None, **body: Any
) -> httpx.Response:
    headers = bearer(MEMBER)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.post(
        f"/v1/members/{MEMBER}/redemptions", json={"points": points, **body}, headers=headers
    )


async def test_fifty_concurrent_redemptions_never_overspend(points_api: httpx.AsyncClient) -> None:
    await grant(points_api, MEMBER, 200)

    responses = await asyncio.gather(
        *(redeem(points_api, 10, key=str(uuid.uuid4())) for _ in range(50))
    )

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) == {201, 409}
    assert statuses.count(201) == 20
    body = await balance_of(points_api, MEMBER)
    assert body["available"] == 0


async def test_the_same_key_and_body_replays_the_same_answer_and_spends_once(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 100)
    key = str(uuid.uuid4())

    first, again, concurrent = (
        await redeem(points_api, 30, key=key, reward="coffee"),
        await redeem(points_api, 30, key=key, reward="coffee"),
        await asyncio.gather(*(redeem(points_api, 30, key=key, reward="coffee") for _ in range(5))),
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert all(r.json() == first.json() for r in concurrent)
    assert (await balance_of(points_api, MEMBER))["available"] == 70


async def test_the_same_key_with_another_body_is_422(points_api: httpx.AsyncClient) -> None:
    await grant(points_api, MEMBER, 100)
    key = str(uuid.uuid4())
    assert (await redeem(points_api, 30, key=key)).status_code == 201

    response = await redeem(points_api, 31, key=key)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert (await balance_of(points_api, MEMBER))["available"] == 70


async def test_a_redemption_without_an_idempotency_key_is_refused(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 100)

    response = await redeem(points_api, 10)

    assert response.status_code == 400
    assert (await balance_of(points_api, MEMBER))["available"] == 100


async def test_a_redemption_larger_than_available_is_409_and_spends_nothing(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 50)

    response = await redeem(points_api, 51, key=str(uuid.uuid4()))

    assert response.status_code == 409
    assert response.json()["type"] == "urn:loyalty:problem:insufficient-points"


async def test_a_key_refused_for_want_of_points_answers_409_again_and_422_for_another_body(
    points_api: httpx.AsyncClient,
) -> None:
    await grant(points_api, MEMBER, 50)
    key = str(uuid.uuid4())

    refused = await redeem(points_api, 80, key=key)
    await grant(points_api, MEMBER, 50)  # enough now, but the key's answer is kept
    again = await redeem(points_api, 80, key=key)
    other_body = await redeem(points_api, 10, key=key)
    new_key = await redeem(points_api, 80, key=str(uuid.uuid4()))

    assert refused.status_code == again.status_code == 409
    assert again.json()["detail"] == refused.json()["detail"] == "80 points asked, 50 available"
    assert other_body.status_code == 422
    assert new_key.status_code == 201
    assert (await balance_of(points_api, MEMBER))["available"] == 20


async def test_a_cancelled_redemption_gives_the_points_back(points_api: httpx.AsyncClient) -> None:
    await grant(points_api, MEMBER, 100)
    redemption = (await redeem(points_api, 60, key=str(uuid.uuid4()))).json()
    path = f"/v1/members/{MEMBER}/redemptions/{redemption['id']}/cancellation"

    assert (await points_api.post(path, headers=bearer(MEMBER))).status_code == 403
    cancelled = await points_api.post(path, headers=ADMIN)

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert (await balance_of(points_api, MEMBER))["available"] == 100
    assert (await points_api.post(path, headers=ADMIN)).json()["status"] == "cancelled"
    assert (await balance_of(points_api, MEMBER))["available"] == 100, "cancelling twice is once"


async def test_an_adjustment_needs_an_admin_and_a_reason_and_shows_in_the_ledger(
    points_api: httpx.AsyncClient,
) -> None:
    path = f"/v1/members/{MEMBER}/adjustments"
    assert (
        await points_api.post(path, json={"points": 5, "reason": "why"}, headers=bearer(MEMBER))
    ).status_code == 403
    assert (
        await points_api.post(path, json={"points": 5, "reason": ""}, headers=ADMIN)
    ).status_code == 422
    assert (
        await points_api.post(path, json={"points": 0, "reason": "nothing"}, headers=ADMIN)
    ).status_code == 422

    await grant(points_api, MEMBER, 40)
    taken = await points_api.post(
        path, json={"points": -15, "reason": "duplicate grant"}, headers=ADMIN
    )

    assert taken.status_code == 201
    assert taken.json()["actor"] == "admin:ops-1"
    ledger = (
        await points_api.get(f"/v1/members/{MEMBER}/points/transactions", headers=bearer(MEMBER))
    ).json()
    assert [(t["type"], t["points"]) for t in ledger["items"]] == [("adjust", -15), ("adjust", 40)]
    assert ledger["items"][0]["details"]["reason"] == "duplicate grant"
    assert ledger["next_cursor"] is None
    assert (await balance_of(points_api, MEMBER))["available"] == 25


async def test_transactions_page_newest_first_with_a_cursor(points_api: httpx.AsyncClient) -> None:
    for points in (1, 2, 3, 4, 5):
        await grant(points_api, MEMBER, points)
    path = f"/v1/members/{MEMBER}/points/transactions"

    first = (await points_api.get(path, params={"limit": 2}, headers=bearer(MEMBER))).json()
    second = (
        await points_api.get(
            path, params={"limit": 2, "cursor": first["next_cursor"]}, headers=bearer(MEMBER)
        )
    ).json()
    last = (
        await points_api.get(
            path, params={"limit": 2, "cursor": second["next_cursor"]}, headers=bearer(MEMBER)
        )
    ).json()

    assert [t["points"] for t in first["items"] + second["items"] + last["items"]] == [
        5,
        4,
        3,
        2,
        1,
    ]
    assert last["next_cursor"] is None
