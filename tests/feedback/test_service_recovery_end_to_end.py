"""The whole service-recovery path across three services: a detractor answers a survey link,
customer service gets one alert (notifications) and the member one goodwill credit (points),
even when the feedback service's events are delivered twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import LOYALTY_FEEDBACK
from tests.feedback.conftest import Service
from tests.feedback.test_answers import invite
from tests.feedback.test_service_recovery import available_points
from tests.notifications.conftest import (  # noqa: F401 - fixtures of the notifications service
    Receiver,
    clock,
    cs_webhook,
    mail_server,
    notifications_app,
    notifications_settings,
)
from tests.support.events import envelope
from tests.support.kafka import event_of, publish, publish_events, read_all
from tests.support.waiting import eventually


def alerts(webhook: Receiver) -> list[dict[str, Any]]:
    return [orjson.loads(body) for _, body in webhook.requests]


async def test_a_detractor_gets_one_cs_alert_and_one_goodwill_credit_even_delivered_twice(
    feedback: Service,
    feedback_api: httpx.AsyncClient,
    notifications_app: FastAPI,  # noqa: F811
    points_api: httpx.AsyncClient,
    cs_webhook: Receiver,  # noqa: F811
    broker: LocalBroker,
) -> None:
    token = await invite(feedback, "m-e1")

    answer = await feedback_api.post(
        f"/v1/surveys/{token}/answers", json={"score": 2, "comment": "客服一直不回复"}
    )

    assert answer.status_code == 201, answer.text
    await eventually(lambda: available_points(points_api, "m-e1"), lambda p: p == 100)
    await eventually(lambda: _count(cs_webhook), lambda n: n >= 1)
    [alert] = alerts(cs_webhook)
    assert (alert["member_id"], alert["data"]["score"]) == ("m-e1", 2)

    # the relay publishes the answer's events again (same ids), then one marker of each kind
    # behind them on the member's partition: once the markers are handled, so are the copies
    records = await read_all(broker.bootstrap, LOYALTY_FEEDBACK, expect=3)
    copies = [r for r in records if event_of(r)["type"] != "feedback.requested"]
    await publish(broker.bootstrap, LOYALTY_FEEDBACK, [(r.key, r.value) for r in copies])
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, _markers("m-e1"))

    await eventually(lambda: available_points(points_api, "m-e1"), lambda p: p != 100)
    await eventually(lambda: _count(cs_webhook), lambda n: n >= 2)
    assert await available_points(points_api, "m-e1") == 101, "the copy credited nothing"
    assert [a["data"]["score"] for a in alerts(cs_webhook)] == [2, 0], "the copy alerted no one"


async def _count(webhook: Receiver) -> int:
    return len(webhook.requests)


def _markers(member_id: str) -> list[dict[str, Any]]:
    received = {
        "member_id": member_id,
        "feedback_id": "f-marker",
        "score": 0,
        "category": "detractor",
        "detractor": True,
        # the next day's: customer service hears of a member at most once a day
        "answered_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "causation_id": "marker",
    }
    grant = {
        "member_id": member_id,
        "feedback_id": "f-marker",
        "points": 1,
        "reason": "marker",
        "causation_id": "marker",
    }
    return [
        envelope("feedback.received", received, source="loyalty/feedback"),
        envelope("feedback.goodwill_granted", grant, source="loyalty/feedback"),
    ]
