"""`POST /v1/program/simulate` answers what a purchase would earn, rule by rule, and the earn
entry in the ledger keeps the same breakdown, so a member's question has an answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.support.apps import serving
from tests.support.events import envelope, purchase_data
from tests.support.kafka import publish_events
from tests.support.tokens import SECRET, bearer
from tests.support.waiting import eventually

BONUSES = Path(__file__).parent / "programs" / "bonuses.toml"
ADMIN = bearer("ops-1", admin=True)
ON_11_11 = "2026-11-11T20:00:00+08:00"


@pytest.fixture
async def api(
    new_database: Callable[[str], str], broker: LocalBroker
) -> AsyncIterator[httpx.AsyncClient]:
    settings = PointsSettings(
        points_database_url=new_database("points"),
        kafka_bootstrap=broker.bootstrap,
        jwt_secret=SECRET,
        program_file=BONUSES,
    )
    async with serving(create_app(settings)) as client:
        yield client


def an_app_purchase_of_electronics(member_id: str = "m-1") -> dict[str, Any]:
    data = purchase_data(member_id, total="1000.00", channel="app")
    data["items"] = [{"sku": "tv", "category": "electronics", "quantity": 1, "unit_price": "1000"}]
    return data


async def test_an_admin_sees_what_a_purchase_would_earn_rule_by_rule(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/program/simulate",
        json={"purchase": an_app_purchase_of_electronics(), "time": ON_11_11, "tier": "silver"},
        headers=ADMIN,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["points"] == 3350
    assert [(r["rule"], r["points"]) for r in body["rules"]] == [
        ("base", 1000),
        ("tier", 250),
        ("category:electronics", 1000),
        ("channel:app", 100),
        ("campaign:double-11", 1000),
    ]
    assert body["available_at"].startswith("2026-11-25")


async def test_a_simulation_earns_nothing_and_needs_an_admin(api: httpx.AsyncClient) -> None:
    request = {"purchase": an_app_purchase_of_electronics("m-2"), "time": ON_11_11}

    as_member = await api.post("/v1/program/simulate", json=request, headers=bearer("m-2"))
    as_admin = await api.post("/v1/program/simulate", json=request, headers=ADMIN)
    balance = await api.get("/v1/members/m-2/points", headers=bearer("m-2"))

    assert as_member.status_code == 403
    assert as_admin.json()["tier"] == "bronze"
    assert balance.json()["lifetime_earned"] == 0


async def test_a_simulation_of_an_unknown_tier_or_a_bad_purchase_is_422(
    api: httpx.AsyncClient,
) -> None:
    unknown_tier = await api.post(
        "/v1/program/simulate",
        json={"purchase": an_app_purchase_of_electronics(), "time": ON_11_11, "tier": "diamond"},
        headers=ADMIN,
    )
    negative_total = await api.post(
        "/v1/program/simulate",
        json={"purchase": purchase_data(total="-1.00"), "time": ON_11_11},
        headers=ADMIN,
    )

    assert unknown_tier.status_code == 422
    assert "diamond" in unknown_tier.json()["detail"]
    assert negative_total.status_code == 422


async def test_the_earn_entry_in_the_ledger_keeps_the_rules_that_made_it(
    api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    data = an_app_purchase_of_electronics("m-3")
    event = envelope("purchase.completed", data, time=None)
    event["time"] = ON_11_11
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [event])

    async def transactions() -> list[dict[str, Any]]:
        response = await api.get("/v1/members/m-3/points/transactions", headers=bearer("m-3"))
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    items = await eventually(transactions, lambda items: len(items) > 0, timeout_s=15)

    [earn] = [entry for entry in items if entry["type"] == "earn"]
    assert earn["points"] == 3100
    assert [rule["rule"] for rule in earn["details"]["rules"]] == [
        "base",
        "category:electronics",
        "channel:app",
        "campaign:double-11",
    ]
