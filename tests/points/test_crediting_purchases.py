"""A purchase on Kafka becomes points in the member's balance (contract sections 1-3)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_TIERS
from loyalty_shared.runtime import runtime_of
from tests.support.events import encode, purchase, tier_changed
from tests.support.kafka import CE_HEADERS, publish_events, publish_records
from tests.support.tokens import bearer
from tests.support.waiting import eventually


async def balance_of(api: httpx.AsyncClient, member_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/members/{member_id}/points", headers=bearer(member_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def consumer_is_assigned(app: FastAPI) -> None:
    runner = runtime_of(app).consumer
    assert runner is not None
    consumer = runner._consumer
    await eventually(lambda: asyncio.sleep(0, consumer.assignment()), lambda a: len(a) > 0)


async def test_a_recent_purchase_earns_pending_points_visible_within_two_seconds(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await consumer_is_assigned(points_app)
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-1001", "399.00")])

    body = await eventually(
        lambda: balance_of(points_api, "m-1001"), lambda b: b["pending"] != 0, timeout_s=2
    )

    assert body["available"] == 0
    assert body["pending"] == 399
    assert body["lifetime_earned"] == 399
    assert body["expiring"] == [], "expiring lists available points only"


async def test_a_purchase_older_than_the_return_window_is_available_at_once(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-1002", "120.50", days_ago=20)]
    )

    body = await eventually(lambda: balance_of(points_api, "m-1002"), lambda b: b["available"] != 0)

    assert body["available"] == 120
    assert body["pending"] == 0


async def test_points_follow_the_tier_the_service_knows(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bootstrap = broker.bootstrap
    await publish_events(bootstrap, LOYALTY_TIERS, [tier_changed("m-2001", "silver")])
    # the tier event and the purchase are on different topics: wait until the tier is known
    await eventually(lambda: _tier_of(points_app, "m-2001"), lambda tier: tier == "silver")
    await publish_events(bootstrap, COMMERCE_PURCHASES, [purchase("m-2001", "399.00")])

    body = await eventually(lambda: balance_of(points_api, "m-2001"), lambda b: b["pending"] != 0)

    assert body["pending"] == 498  # floor(399 x 1.25)


async def _tier_of(app: FastAPI, member_id: str) -> str | None:
    async with runtime_of(app).pool.acquire() as conn:
        tier: str | None = await conn.fetchval(
            "SELECT tier FROM member_tier WHERE member_id = $1", member_id
        )
        return tier


async def test_a_member_never_seen_has_zeros_not_404(points_api: httpx.AsyncClient) -> None:
    body = await balance_of(points_api, "m-nobody")

    assert body == {
        "member_id": "m-nobody",
        "available": 0,
        "held": 0,
        "pending": 0,
        "lifetime_earned": 0,
        "expiring": [],
    }


async def test_a_currency_without_a_rate_earns_nothing(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bootstrap = broker.bootstrap
    await publish_events(
        bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-3001", "100.00", currency="USD"), purchase("m-3001", "50.00", days_ago=30)],
    )

    body = await eventually(lambda: balance_of(points_api, "m-3001"), lambda b: b["available"] != 0)

    assert body["available"] == 50
    assert body["lifetime_earned"] == 50


async def test_the_balance_as_recorded_at_a_past_time_answers_what_the_ledger_said_then(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    from datetime import UTC, datetime

    before = datetime.now(UTC)
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-3101", "75.00", days_ago=30)]
    )
    await eventually(lambda: balance_of(points_api, "m-3101"), lambda b: b["available"] == 75)
    path, headers = "/v1/members/m-3101/points", bearer("m-3101")

    then = (
        await points_api.get(path, params={"as_recorded_at": before.isoformat()}, headers=headers)
    ).json()
    now = (
        await points_api.get(
            path, params={"as_recorded_at": datetime.now(UTC).isoformat()}, headers=headers
        )
    ).json()

    assert (then["available"], then["lifetime_earned"]) == (0, 0)
    assert (now["available"], now["lifetime_earned"]) == (75, 75)
    assert now["as_recorded_at"]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_a_purchase_in_a_batch_compressed_with_any_kafka_codec_is_credited(
    points_api: httpx.AsyncClient, broker: LocalBroker, codec: str
) -> None:
    member_id = f"m-codec-{codec}"
    event = purchase(member_id, "88.00", days_ago=20)
    await publish_records(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [(member_id.encode(), encode(event), CE_HEADERS)],
        compression=codec,
    )

    body = await eventually(lambda: balance_of(points_api, member_id), lambda b: b["available"])

    assert body["available"] == 88
