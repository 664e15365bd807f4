"""Support reads a member's preferences and messages, alerts to customer service about them
included, and each read is in the audit log; preferences an admin sets for a member are recorded,
the member's own are not, and support may not set them."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.http.auth import SUPPORT_SCOPE
from loyalty_shared.kafka.topics import LOYALTY_FEEDBACK
from tests.notifications.builders import feedback_received
from tests.notifications.conftest import Receiver
from tests.notifications.helpers import notifications_of
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

ADMIN = bearer("ops-1", admin=True)
AGENT = bearer("agent-7", scopes=(SUPPORT_SCOPE,))
PREFERENCES = {
    "channels": {"email": True, "sms": False, "push": True},
    "quiet_hours": None,
    "time_zone": "Asia/Shanghai",
    "language": "zh-CN",
}


async def test_support_reads_a_members_messages_and_preferences_and_each_read_is_recorded(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    cs_webhook: Receiver,
) -> None:
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, [feedback_received("m-s1", 2)])

    async def alerts_sent() -> int:
        return len(cs_webhook.requests)

    await eventually(alerts_sent, lambda sent: sent == 1)

    messages = await notifications_api.get("/v1/members/m-s1/notifications", headers=AGENT)
    preferences = await notifications_api.get("/v1/members/m-s1/preferences", headers=AGENT)

    assert [i["type"] for i in messages.json()["items"]] == ["detractor_alert"]
    assert await notifications_of(notifications_api, "m-s1") == [], "not shown to the member"
    assert preferences.status_code == 200
    log = await notifications_api.get("/v1/audit-log", params={"actor": "agent-7"}, headers=ADMIN)
    entries: list[dict[str, Any]] = log.json()["items"]
    assert [(e["action"], e["member_id"], e["details"]["route"]) for e in entries] == [
        ("member.read", "m-s1", "GET /v1/members/{member_id}/preferences"),
        ("member.read", "m-s1", "GET /v1/members/{member_id}/notifications"),
    ]


async def test_preferences_an_admin_sets_for_a_member_are_recorded_and_the_members_own_are_not(
    notifications_app: FastAPI, notifications_api: httpx.AsyncClient
) -> None:
    path = "/v1/members/m-s2/preferences"
    assert (await notifications_api.put(path, json=PREFERENCES, headers=AGENT)).status_code == 403
    assert (
        await notifications_api.put(path, json=PREFERENCES, headers=bearer("m-s2"))
    ).status_code == 200
    assert (await notifications_api.put(path, json=PREFERENCES, headers=ADMIN)).status_code == 200

    log = await notifications_api.get("/v1/audit-log", headers=ADMIN)
    entries: list[dict[str, Any]] = log.json()["items"]
    assert [(e["actor"], e["action"], e["member_id"]) for e in entries] == [
        ("ops-1", "preferences.update", "m-s2")
    ]
