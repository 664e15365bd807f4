"""Every service starts, migrates its own database, reports health, readiness, metrics and its
OpenAPI, and takes its input events into its inbox (dead-lettering the invalid ones)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_feedback.app import create_app as feedback_app
from loyalty_feedback.settings import FeedbackSettings
from loyalty_notifications.app import create_app as notifications_app
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from loyalty_tiers.app import create_app as tiers_app
from loyalty_tiers.settings import TiersSettings
from tests.support.apps import serving
from tests.support.events import encode, envelope, purchase
from tests.support.kafka import publish, read_all
from tests.support.tokens import SECRET
from tests.support.waiting import eventually

MEMBER_ENROLLED = envelope(
    "member.enrolled",
    {
        "member_id": "m-7001",
        "name": "王芳",
        "email": "wang.fang@example.com",
        "locale": "zh-CN",
        "birthday": "1990-05-01",
        "consents": {"email": True, "sms": False, "push": True},
    },
)

SERVICES: dict[str, tuple[Callable[[Any], Any], type, str, dict[str, Any]]] = {
    "tiers": (tiers_app, TiersSettings, COMMERCE_PURCHASES, purchase("m-7001")),
    "notifications": (notifications_app, NotificationsSettings, COMMERCE_MEMBERS, MEMBER_ENROLLED),
    "feedback": (feedback_app, FeedbackSettings, COMMERCE_PURCHASES, purchase("m-7001")),
}


@pytest.mark.parametrize("name", list(SERVICES))
async def test_a_service_starts_serves_operations_and_records_its_input_events(
    name: str, new_database: Callable[[str], str], broker: LocalBroker
) -> None:
    create_app, settings_type, topic, event = SERVICES[name]
    dsn = new_database(name)
    settings = settings_type(
        **{f"{name}_database_url": dsn}, kafka_bootstrap=broker.bootstrap, jwt_secret=SECRET
    )
    async with serving(create_app(settings)) as api:
        assert (await api.get("/healthz")).json() == {"status": "ok"}
        ready = await api.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert {"database", "broker", "consumer", "relay"} <= set(ready.json()["checks"])
        assert (await api.get("/openapi.json")).json()["info"]["title"] == f"Loyalty {name}"
        assert "loyalty_events_total" in (await api.get("/metrics")).text

        await publish(broker.bootstrap, topic, [(b"m-7001", b"[1, 2]"), (b"m-7001", encode(event))])

        async def inbox() -> list[str]:
            conn = await asyncpg.connect(dsn)
            try:
                return [
                    r["event_id"] for r in await conn.fetch("SELECT event_id FROM processed_event")
                ]
            finally:
                await conn.close()

        ids = await eventually(inbox, lambda ids: event["id"] in ids)
        assert len([i for i in ids if not i.startswith("dlq:")]) == 1
    dead = await read_all(broker.bootstrap, f"{topic}.dlq", expect=1)
    assert [dict(r.headers)["error.service"] for r in dead] == [name.encode()]


async def test_readiness_says_not_ready_when_the_database_is_gone(
    points_app: FastAPI, points_api: httpx.AsyncClient
) -> None:
    await runtime_of(points_app).pool.close()

    response = await points_api.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("failed")
