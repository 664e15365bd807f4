"""Messages about rewards: the coupon code when a reward is redeemed, a reminder a week before an
unused coupon expires, the new benefits of a tier upgrade; in the member's language, with the
consent and quiet-hour rules of every other message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.kafka.topics import LOYALTY_POINTS, LOYALTY_TIERS
from tests.notifications.builders import (
    coupon_expiring,
    coupon_used,
    member_enrolled,
    reward_redeemed,
    tier_changed,
)
from tests.notifications.conftest import MailServer, MovableClock
from tests.notifications.helpers import (
    enrol,
    latest_is,
    mailed_in_both_languages,
    notifications_of,
    stored_payload,
    the_mail_to,
)
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

CODE = "7KQX-M3PA-WZ9D"


async def test_a_redeemed_reward_sends_its_coupon_code_in_the_members_language(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    notifications_settings: NotificationsSettings,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    expires = datetime(2027, 1, 10, 4, 0, tzinfo=UTC)
    chinese, english = await mailed_in_both_languages(
        notifications_api,
        broker,
        mail_server,
        ("m-r1", "m-r2"),
        [reward_redeemed("m-r1", CODE, expires), reward_redeemed("m-r2", "CIN-0001", expires)],
    )
    assert all(text in chinese for text in (CODE, "咖啡券", "2027年1月10日"))
    assert all(text in english for text in ("CIN-0001", "Coffee voucher", "January 10, 2027"))
    payload = await stored_payload(notifications_settings.database_url, "m-r1", "reward_redeemed")
    assert set(payload) == {
        "reward_name",
        "coupon_code",
        "coupon_value",
        "coupon_currency",
        "expires_at",
    }, "the message keeps the coupon, nothing about the member"


async def test_a_coupon_reminder_waits_for_the_morning_and_for_the_end_of_quiet_hours(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    clock.set(datetime(2027, 1, 2, 20, 0, tzinfo=UTC))  # 04:00 on the 3rd in Shanghai
    await enrol(notifications_api, broker, member_enrolled("m-r3", "王芳", email="r3@example.com"))
    await notifications_api.put(
        "/v1/members/m-r3/preferences",
        json={"quiet_hours": {"start": "09:00", "end": "12:00"}},
        headers=bearer("m-r3"),
    )

    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [coupon_expiring("m-r3", CODE, datetime(2027, 1, 10, 4, 0, tzinfo=UTC))],
    )
    [reminder] = await eventually(
        lambda: notifications_of(notifications_api, "m-r3"), lambda i: len(i) == 1
    )
    assert datetime.fromisoformat(reminder["scheduled_for"]) == datetime(
        2027, 1, 3, 2, 0, tzinfo=UTC
    )

    clock.set(datetime(2027, 1, 3, 2, 30, tzinfo=UTC))  # 10:30, inside quiet hours
    [deferred] = await eventually(
        lambda: notifications_of(notifications_api, "m-r3"),
        lambda i: (i[0]["reason"] or "").startswith("quiet-hours"),
    )
    assert mail_server.to("r3@example.com") == []
    clock.set(datetime(2027, 1, 3, 4, 5, tzinfo=UTC))  # 12:05
    await eventually(lambda: notifications_of(notifications_api, "m-r3"), latest_is("sent"))
    assert CODE in the_mail_to(mail_server, "r3@example.com")
    assert deferred["type"] == "coupon_expiring"


async def test_a_coupon_used_before_its_reminder_goes_out_is_not_reminded_of(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    clock.set(datetime(2027, 1, 2, 20, 0, tzinfo=UTC))
    await enrol(notifications_api, broker, member_enrolled("m-r4", "王芳", email="r4@example.com"))
    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [coupon_expiring("m-r4", CODE, datetime(2027, 1, 10, 4, 0, tzinfo=UTC))],
    )
    await eventually(lambda: notifications_of(notifications_api, "m-r4"), lambda i: len(i) == 1)

    await publish_events(broker.bootstrap, LOYALTY_POINTS, [coupon_used("m-r4", CODE)])

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-r4"),
        latest_is("suppressed"),
    )
    assert item["reason"] == "coupon-used: by order o-3001"
    clock.set(datetime(2027, 1, 3, 2, 30, tzinfo=UTC))
    assert mail_server.to("r4@example.com") == []


async def test_a_reward_message_without_consent_is_suppressed_like_any_other(
    notifications_app: FastAPI, notifications_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    await enrol(
        notifications_api,
        broker,
        member_enrolled("m-r5", "王芳", consents={"email": False, "sms": False, "push": False}),
    )

    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [reward_redeemed("m-r5", CODE, datetime.now(UTC) + timedelta(days=30))],
    )

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-r5"),
        latest_is("suppressed"),
    )
    assert item["reason"].startswith("no-consent")


async def test_a_tier_upgrade_lists_the_benefits_the_member_did_not_have(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await enrol(
        notifications_api,
        broker,
        member_enrolled("m-r6", "Ann", email="r6@example.com", locale="en"),
    )
    upgrade = tier_changed("m-r6", "gold")
    upgrade["data"]["new_benefits"] = [
        {
            "id": "free-shipping",
            "name": {"zh-CN": "所有订单免运费", "en": "Free shipping on every order"},
        },
        {
            "id": "early-access",
            "name": {"zh-CN": "新品抢先购", "en": "Early access to new products"},
        },
    ]

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [upgrade])

    await eventually(
        lambda: notifications_of(notifications_api, "m-r6"),
        latest_is("sent"),
    )
    body = the_mail_to(mail_server, "r6@example.com").replace("\r\n", "\n")
    assert "- Free shipping on every order\n- Early access to new products" in body
