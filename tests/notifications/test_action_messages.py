"""Points for an action the program tells of (`notify`, issue 19) reach the member at once in
their language, naming what they did: the actions the default program has by name, any other
as an activity."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.kafka.topics import LOYALTY_POINTS
from tests.notifications.builders import action_rewarded, member_enrolled
from tests.notifications.conftest import MailServer
from tests.notifications.helpers import (
    enrol,
    latest_is,
    notifications_of,
    stored_payload,
    the_mail_to,
)
from tests.support.kafka import publish_events
from tests.support.waiting import eventually


async def test_a_told_action_reaches_the_member_in_their_language(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    notifications_settings: NotificationsSettings,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await enrol(
        notifications_api,
        broker,
        member_enrolled("m-ac1", "王芳", email="ac1@example.com"),
        member_enrolled("m-ac2", "Ann", email="ac2@example.com", locale="en"),
    )
    expires = datetime(2027, 12, 5, 4, 0, tzinfo=UTC)
    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [
            action_rewarded("m-ac1", "review.written", 20, expires),
            action_rewarded("m-ac2", "quiz.answered", 15, expires),
        ],
    )

    for member in ("m-ac1", "m-ac2"):
        await eventually(lambda m=member: notifications_of(notifications_api, m), latest_is("sent"))  # type: ignore[misc]
    chinese = the_mail_to(mail_server, "ac1@example.com")
    english = the_mail_to(mail_server, "ac2@example.com")
    assert all(text in chinese for text in ("撰写评价", "20", "2027年12月5日"))
    assert all(text in english for text in ("your activity", "15", "December 5, 2027"))
    payload = await stored_payload(notifications_settings.database_url, "m-ac1", "action_rewarded")
    assert payload == {
        "action": "review.written",
        "points": 20,
        "expires_at": expires.isoformat(),
    }
