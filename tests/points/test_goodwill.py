"""Service recovery: a goodwill grant from the feedback service is credited exactly once."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import LOYALTY_FEEDBACK, dlq_topic
from tests.points.test_crediting_purchases import balance_of, consumer_is_assigned
from tests.support.events import envelope
from tests.support.kafka import publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually


def goodwill(member_id: str, points: int, feedback_id: str = "f-1") -> dict[str, Any]:
    return envelope(
        "feedback.goodwill_granted",
        {
            "member_id": member_id,
            "feedback_id": feedback_id,
            "points": points,
            "reason": "sorry about your last order",
            "causation_id": f"received-{feedback_id}",
        },
        source="loyalty/feedback",
    )


async def test_a_goodwill_grant_delivered_twice_is_credited_once_and_is_spendable(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await consumer_is_assigned(points_app)
    grant = goodwill("m-sorry", 100)
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, [grant, grant])
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, [grant])

    body = await eventually(
        lambda: balance_of(points_api, "m-sorry"), lambda b: b["available"] == 100
    )
    page = await points_api.get(
        "/v1/members/m-sorry/points/transactions", headers=bearer("m-sorry")
    )

    assert body["lifetime_earned"] == 100
    [entry] = page.json()["items"]
    assert entry["cause"]["event_id"] == grant["id"]
    assert entry["cause"]["actor"] == "system:service-recovery"
    assert entry["details"]["feedback_id"] == "f-1"


async def test_a_grant_of_no_points_goes_to_the_dead_letter_topic_and_changes_nothing(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await consumer_is_assigned(points_app)
    await publish_events(
        broker.bootstrap,
        LOYALTY_FEEDBACK,
        [goodwill("m-zero", 0, "f-0"), goodwill("m-zero", 20, "f-20")],
    )

    [dead] = await read_all(broker.bootstrap, dlq_topic(LOYALTY_FEEDBACK), expect=1)
    body = await eventually(
        lambda: balance_of(points_api, "m-zero"), lambda b: b["available"] == 20
    )

    assert dict(dead.headers)["error.service"] == b"points"
    assert body["lifetime_earned"] == 20
