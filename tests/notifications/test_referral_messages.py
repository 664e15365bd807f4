"""A paid referral is told to both members (issue 19): the referrer that a friend's first order
earned them points, the new member that their welcome points arrived; in each member's language,
naming no one else."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.settings import NotificationsSettings
from tests.notifications.builders import referral_rewarded
from tests.notifications.conftest import MailServer
from tests.notifications.helpers import (
    mailed_in_both_languages,
    stored_payload,
)


async def test_both_sides_of_a_paid_referral_hear_of_their_points(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    notifications_settings: NotificationsSettings,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    expires = datetime(2027, 12, 5, 4, 0, tzinfo=UTC)
    referrer, referee = await mailed_in_both_languages(
        notifications_api,
        broker,
        mail_server,
        ("m-f1", "m-f2"),
        [
            referral_rewarded("m-f1", "referrer", 500, expires),
            referral_rewarded("m-f2", "referee", 200, expires),
        ],
    )
    assert all(text in referrer for text in ("好友", "500", "2027年12月5日"))
    assert all(text in referee for text in ("welcome", "200", "December 5, 2027"))
    assert "m-friend" not in referrer
    payload = await stored_payload(notifications_settings.database_url, "m-f1", "referral_rewarded")
    assert payload == {
        "role": "referrer",
        "points": 500,
        "expires_at": expires.isoformat(),
    }
