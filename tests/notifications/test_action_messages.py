"""Points for an action the program tells of (`notify`, issue 19) reach the member at once in
their language, naming what they did: the actions the default program has by name, any other
as an activity."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.settings import NotificationsSettings
from tests.notifications.builders import action_rewarded
from tests.notifications.conftest import MailServer
from tests.notifications.helpers import (
    mailed_in_both_languages,
    stored_payload,
)


async def test_a_told_action_reaches_the_member_in_their_language(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    notifications_settings: NotificationsSettings,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    expires = datetime(2027, 12, 5, 4, 0, tzinfo=UTC)
    chinese, english = await mailed_in_both_languages(
        notifications_api,
        broker,
        mail_server,
        ("m-ac1", "m-ac2"),
        [
            action_rewarded("m-ac1", "review.written", 20, expires),
            action_rewarded("m-ac2", "quiz.answered", 15, expires),
        ],
    )

    assert all(text in chinese for text in ("撰写评价", "20", "2027年12月5日"))
    assert all(text in english for text in ("your activity", "15", "December 5, 2027"))
    payload = await stored_payload(notifications_settings.database_url, "m-ac1", "action_rewarded")
    assert payload == {
        "action": "review.written",
        "points": 20,
        "expires_at": expires.isoformat(),
    }
