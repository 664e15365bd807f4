"""Pending points mature when the return window ends; unspent points expire 365 days after the
purchase, oldest first, with a warning 30 days ahead; each exactly once, even with two replicas."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from loyalty_points.app import create_app
from loyalty_points.lifecycle.jobs import run_due
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.support.apps import serving
from tests.support.events import purchase
from tests.support.kafka import publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

NOW = datetime.now(UTC)


async def credited(api: httpx.AsyncClient, member: str, lifetime: int) -> dict[str, Any]:
    return await eventually(
        lambda: balance_of(api, member), lambda b: b["lifetime_earned"] == lifetime
    )


async def test_pending_points_become_available_when_the_return_window_ends(
    points_app: Any, points_api: httpx.AsyncClient, broker: Any
) -> None:
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-1201", "300.00", days_ago=5)]
    )
    await credited(points_api, "m-1201", 300)

    assert (await run_due(runtime_of(points_app).pool, NOW + timedelta(days=8)))["mature"] == 0
    assert (await run_due(runtime_of(points_app).pool, NOW + timedelta(days=10)))["mature"] == 1
    assert (await run_due(runtime_of(points_app).pool, NOW + timedelta(days=10)))["mature"] == 0

    body = await balance_of(points_api, "m-1201")
    assert (body["available"], body["pending"], body["lifetime_earned"]) == (300, 0, 300)
    events = [
        orjson.loads(r.value)
        for r in await read_all(broker.bootstrap, LOYALTY_POINTS, expect=3, timeout_s=3)
    ]
    assert [e["type"] for e in events] == ["points.earned", "points.matured"]


async def test_points_older_than_365_days_expire_oldest_first_after_a_warning(
    points_app: Any, points_api: httpx.AsyncClient, broker: Any
) -> None:
    older = purchase("m-1202", "100.00", days_ago=60)
    newer = purchase("m-1202", "100.00", days_ago=30)
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [older, newer])
    await credited(points_api, "m-1202", 200)
    headers = {**bearer("m-1202"), "Idempotency-Key": str(uuid.uuid4())}
    spent = await points_api.post(
        "/v1/members/m-1202/redemptions", json={"points": 70}, headers=headers
    )
    assert spent.status_code == 201  # takes 70 from the older lot, which has 30 left

    pool = runtime_of(points_app).pool
    warned = await run_due(pool, NOW + timedelta(days=365 - 60 - 10))
    assert warned["warn"] == 1, "the older lot is within 30 days of expiry; the newer is not"
    assert (await run_due(pool, NOW + timedelta(days=365 - 60 - 5)))["warn"] == 0, "warned once"
    expired = await run_due(pool, NOW + timedelta(days=365 - 60 + 1))

    assert expired["expire"] == 1
    body = await balance_of(points_api, "m-1202")
    assert body["available"] == 100, "only the 30 left of the older lot expired"
    assert body["lifetime_earned"] == 200, "expiry does not reduce lifetime earned"
    assert [e["points"] for e in body["expiring"]] == [100]


async def test_two_replicas_running_the_jobs_at_once_handle_each_lot_once(
    points_app: Any, points_api: httpx.AsyncClient, broker: Any
) -> None:
    members = [f"m-13{n:02d}" for n in range(40)]
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase(m, "10.00", days_ago=3) for m in members]
    )
    for member in members:
        await credited(points_api, member, 10)

    first, second = await asyncio.gather(
        run_due(runtime_of(points_app).pool, NOW + timedelta(days=12)),
        run_due(runtime_of(points_app).pool, NOW + timedelta(days=12)),
    )

    assert first["mature"] + second["mature"] == len(members)
    async with runtime_of(points_app).pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE kind = 'mature'") == 40
        assert await conn.fetchval("SELECT sum(available) FROM points_account") == 400


@pytest.fixture
async def scheduled_api(points_settings: PointsSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(points_settings.model_copy(update={"points_jobs_interval_s": 0.2}))
    async with serving(app) as client:
        yield client


async def test_the_service_expires_due_points_by_itself(
    scheduled_api: httpx.AsyncClient, broker: Any
) -> None:
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-1401", "250.00", days_ago=400)]
    )

    body = await eventually(
        lambda: balance_of(scheduled_api, "m-1401"),
        lambda b: b["lifetime_earned"] == 250 and b["available"] == 0,
    )
    assert body["pending"] == 0
