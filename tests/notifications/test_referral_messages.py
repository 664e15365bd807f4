"""A paid referral is told to both members (issue 19): the referrer that a friend's first order
earned them points, the new member that their welcome points arrived; in each member's language,
naming no one else."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.kafka.topics import LOYALTY_POINTS
from tests.notifications.builders import member_enrolled, referral_rewarded
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


async def test_both_sides_of_a_paid_referral_hear_of_their_points(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    notifications_settings: NotificationsSettings,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await enrol(
        notifications_api,
        broker,
        member_enrolled("m-f1", "王芳", email="f1@example.com"),
        member_enrolled("m-f2", "Ann", email="f2@example.com", locale="en"),
    )
    expires = datetime(2027, 12, 5, 4, 0, tzinfo=UTC)
    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [
            referral_rewarded("m-f1", "referrer", 500, expires),
            referral_rewarded("m-f2", "referee", 200, expires),
        ],
    )

    for member in ("m-f1", "m-f2"):
        await eventually(lambda m=member: notifications_of(notifications_api, m), latest_is("sent"))  # type: ignore[misc]
    referrer, referee = (
        the_mail_to(mail_server, "f1@example.com"),
        the_mail_to(mail_server, "f2@example.com"),
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
