"""Across services: an upgrade in the tiers service changes what the next purchase earns in the
points service, once `tier.changed` has gone through Kafka."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.waiting import eventually


async def test_the_purchase_after_an_upgrade_earns_at_the_new_multiplier(
    tiers_app: FastAPI, points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-e2e", "5200.00", days_ago=20)]
    )
    await eventually(lambda: balance_of(points_api, "m-e2e"), lambda b: b["available"] == 5200)

    async def points_knows_tier() -> str | None:
        async with runtime_of(points_app).pool.acquire() as conn:
            tier: str | None = await conn.fetchval(
                "SELECT tier FROM member_tier WHERE member_id = 'm-e2e'"
            )
            return tier

    await eventually(points_knows_tier, lambda tier: tier == "silver", timeout_s=30)
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-e2e", "400.00", days_ago=20)]
    )

    body = await eventually(
        lambda: balance_of(points_api, "m-e2e"), lambda b: b["available"] > 5200
    )
    assert body["available"] == 5200 + 500  # 400 x 1.25
