"""The members report (marketing): how many members, how many bought lately, the tier mix; never
anyone's data, and not for support."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.http.auth import MARKETING_SCOPE, SUPPORT_SCOPE
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MARKETING = bearer("mia", scopes=(MARKETING_SCOPE,))


async def test_members_are_counted_by_tier_and_by_their_last_purchase(
    tiers_app: FastAPI, tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase("m-new", "100.00", days_ago=2),
            purchase("m-lapsing", "100.00", days_ago=60),
            purchase("m-gone", "100.00", days_ago=200),
            purchase("m-big", "6000.00", days_ago=1),  # silver at once
        ],
    )

    async def report() -> dict[str, Any]:
        answer = await tiers_api.get("/v1/reports/members", headers=MARKETING)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    body = await eventually(report, lambda b: b["members"] == 4)
    assert (body["active_30_days"], body["active_90_days"]) == (2, 3)
    tiers = {t["tier"]: (t["members"], t["share"]) for t in body["tiers"]}
    assert tiers == {
        "bronze": (3, 75.0),
        "silver": (1, 25.0),
        "gold": (0, 0.0),
        "platinum": (0, 0.0),
    }
    assert [t["tier"] for t in body["tiers"]] == ["bronze", "silver", "gold", "platinum"]
    assert "m-new" not in str(body), "counts only"


async def test_the_members_report_is_for_marketing_not_support(
    tiers_api: httpx.AsyncClient,
) -> None:
    agent = bearer("agent-7", scopes=(SUPPORT_SCOPE,))
    assert (await tiers_api.get("/v1/reports/members", headers=agent)).status_code == 403
    admin = await tiers_api.get("/v1/reports/members", headers=bearer("ops", admin=True))
    assert admin.json()["members"] == 0
