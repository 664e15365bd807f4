"""The points service on a clock the test moves (`clocked`), with helpers that act as the shop,
the app and an admin would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import create_app
from loyalty_points.lifecycle.jobs import run_due
from loyalty_points.settings import PointsSettings
from loyalty_points.state import PointsState
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from loyalty_shared.runtime import runtime_of
from tests.support.apps import client_of, running
from tests.support.clock import ManualClock
from tests.support.events import envelope, purchase_data
from tests.support.kafka import publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

ADMIN = bearer("ops-1", admin=True)


@dataclass
class ClockedPoints:
    """The points service on a clock the test moves, its scheduled jobs left to the test."""

    app: FastAPI
    api: httpx.AsyncClient
    clock: ManualClock
    broker: LocalBroker

    async def buy(self, member: str, total: str, *, at: datetime, order_id: str = "") -> str:
        order_id = order_id or f"o-{uuid.uuid4().hex[:10]}"
        event = envelope(
            "purchase.completed", purchase_data(member, order_id=order_id, total=total), time=at
        )
        await publish_events(self.broker.bootstrap, COMMERCE_PURCHASES, [event])
        return order_id

    async def refund(self, member: str, order_id: str, amount: str) -> None:
        event = envelope(
            "purchase.refunded",
            {
                "order_id": order_id,
                "refund_id": f"r-{uuid.uuid4().hex[:10]}",
                "member_id": member,
                "currency": "CNY",
                "amount": amount,
            },
            time=self.clock(),
        )
        await publish_events(self.broker.bootstrap, COMMERCE_PURCHASES, [event])

    async def balance(self, member: str, **params: str) -> dict[str, Any]:
        response = await self.api.get(
            f"/v1/members/{member}/points", params=params, headers=bearer(member)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def credited(self, member: str, lifetime: int) -> dict[str, Any]:
        return await eventually(
            lambda: self.balance(member), lambda b: b["lifetime_earned"] == lifetime
        )

    async def spend(self, member: str, what: str, body: dict[str, Any]) -> httpx.Response:
        """POST a redemption or hold (`what`) with a fresh Idempotency-Key."""
        headers = {**bearer(member), "Idempotency-Key": str(uuid.uuid4())}
        return await self.api.post(f"/v1/members/{member}/{what}", json=body, headers=headers)

    async def redeem(self, member: str, points: int) -> httpx.Response:
        return await self.spend(member, "redemptions", {"points": points})

    async def hold(self, member: str, points: int, ttl_seconds: int = 900) -> httpx.Response:
        return await self.spend(member, "holds", {"points": points, "ttl_seconds": ttl_seconds})

    async def adjust(self, member: str, points: int) -> httpx.Response:
        return await self.api.post(
            f"/v1/members/{member}/adjustments",
            json={"points": points, "reason": "a test's adjustment"},
            headers=ADMIN,
        )

    async def ledger(self, member: str, **params: str) -> list[dict[str, Any]]:
        response = await self.api.get(
            f"/v1/members/{member}/points/transactions", params=params, headers=bearer(member)
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def run_jobs(self) -> dict[str, int]:
        program = state_of(self.app, PointsState).program
        return await run_due(runtime_of(self.app).pool, program, self.clock())

    async def events(self, expect: int) -> list[dict[str, Any]]:
        records = await read_all(self.broker.bootstrap, LOYALTY_POINTS, expect=expect, timeout_s=3)
        return [orjson.loads(r.value) for r in records if r.value is not None]


@pytest.fixture
async def clocked(
    points_settings: PointsSettings, broker: LocalBroker
) -> AsyncIterator[ClockedPoints]:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    settings = points_settings.model_copy(update={"points_jobs_interval_s": 3600})
    app = create_app(settings, clock=clock)
    async with running(app), client_of(app) as api:
        yield ClockedPoints(app, api, clock, broker)
