"""Service recovery: a detractor's answer alerts customer service (`feedback.received` with
`detractor: true`) and earns the program's goodwill points once (feedback issue, item 3)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import LOYALTY_FEEDBACK
from tests.feedback.conftest import Service, bought
from tests.feedback.test_answers import invite
from tests.support.events import envelope
from tests.support.kafka import event_of, publish, publish_events, read_all, read_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually


async def available_points(points_api: httpx.AsyncClient, member_id: str) -> int:
    response = await points_api.get(f"/v1/members/{member_id}/points", headers=bearer(member_id))
    assert response.status_code == 200, response.text
    available: int = response.json()["available"]
    return available


async def test_a_detractor_leads_to_one_alert_and_one_goodwill_grant_even_delivered_twice(
    feedback: Service,
    feedback_api: httpx.AsyncClient,
    points_api: httpx.AsyncClient,
    broker: LocalBroker,
) -> None:
    goodwill = feedback.program.feedback.goodwill_points
    assert goodwill == 100, "the shipped program grants 100 points"
    token = await invite(feedback, "m-d1")

    answer = await feedback_api.post(
        f"/v1/surveys/{token}/answers", json={"score": 3, "comment": "快递太慢 包装破了"}
    )
    retry = await feedback_api.post(f"/v1/surveys/{token}/answers", json={"score": 3})

    assert answer.status_code == 201, answer.text
    assert answer.json()["goodwill_points"] == goodwill
    assert retry.status_code == 409
    records = await read_all(broker.bootstrap, LOYALTY_FEEDBACK, expect=3)
    events = [event_of(r) for r in records]
    assert Counter(e["type"] for e in events) == {
        "feedback.requested": 1,
        "feedback.received": 1,
        "feedback.goodwill_granted": 1,
    }
    received = next(e for e in events if e["type"] == "feedback.received")
    assert (received["data"]["detractor"], received["data"]["score"]) == (True, 3)
    grant = next(e for e in events if e["type"] == "feedback.goodwill_granted")
    assert grant["data"]["points"] == goodwill
    assert grant["data"]["feedback_id"] == received["data"]["feedback_id"]
    await eventually(lambda: available_points(points_api, "m-d1"), lambda p: p == goodwill)

    # the alert and the grant delivered a second time (a relay that crashed before deleting
    # its rows publishes them again, with the same ids): still one of each downstream
    again = [r for r in records if event_of(r)["type"] != "feedback.requested"]
    await publish(broker.bootstrap, LOYALTY_FEEDBACK, [(r.key, r.value) for r in again])
    everything = await read_events(broker.bootstrap, LOYALTY_FEEDBACK, expect=5)
    ids = Counter(e["id"] for e in everything)
    assert sorted(ids.values()) == [1, 2, 2], "the copies carry the same ids"
    # one more grant for the member, behind the copies on the member's partition: once it is
    # credited, the copies before it have been consumed
    marker = envelope(
        "feedback.goodwill_granted",
        {
            "member_id": "m-d1",
            "feedback_id": "f-marker",
            "points": 1,
            "reason": "marker",
            "causation_id": "marker",
        },
        source="loyalty/feedback",
    )
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, [marker])
    await eventually(lambda: available_points(points_api, "m-d1"), lambda p: p != goodwill)
    assert await available_points(points_api, "m-d1") == goodwill + 1, "credited once"


async def test_goodwill_is_granted_at_most_once_per_member_per_cooldown(
    feedback: Service, feedback_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    now = datetime.now(UTC)
    await feedback.purchases(
        bought("m-d2", now, order_id="o-d2-a"), bought("m-d2", now, order_id="o-d2-b")
    )

    answers = [
        await feedback_api.post(
            "/v1/members/m-d2/feedback", json={"score": s, "order_id": o}, headers=bearer("m-d2")
        )
        for s, o in ((2, "o-d2-a"), (0, "o-d2-b"))
    ]
    without_order = await feedback_api.post(
        "/v1/members/m-d3/feedback", json={"score": 0}, headers=bearer("m-d3")
    )

    assert [a.json()["goodwill_points"] for a in answers] == [100, 0]
    assert without_order.json()["goodwill_points"] == 0, "goodwill needs an order to recover"
    assert await feedback.count("goodwill_grant") == 1
