"""The other moments: a detractor alert to customer service over a webhook signed the Standard
Webhooks way, a survey invitation with its link, one points digest a day, a member not enrolled
yet, a win-back."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks import Webhook, WebhookVerificationError

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.channels.webhook import sign
from loyalty_notifications.settings import webhook_key
from loyalty_notifications.state import NotificationsState
from loyalty_notifications.triggers.jobs import run_schedules
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import (
    COMMERCE_MEMBERS,
    COMMERCE_PURCHASES,
    LOYALTY_FEEDBACK,
    LOYALTY_POINTS,
    LOYALTY_TIERS,
)
from loyalty_shared.runtime import runtime_of
from tests.notifications.builders import (
    feedback_received,
    feedback_requested,
    member_enrolled,
    points_earned,
    tier_changed,
)
from tests.notifications.conftest import WEBHOOK_SECRET, MailServer, MovableClock, Receiver
from tests.notifications.helpers import body_of, enrol, mails, notifications_of
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-key-of-thirty-two-bytes!").decode()


async def requests(receiver: Receiver) -> int:
    return len(receiver.requests)


async def test_a_detractor_alert_is_verified_by_a_standard_webhooks_library_with_the_secret(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    cs_webhook: Receiver,
    mail_server: MailServer,
) -> None:
    await enrol(notifications_api, broker, member_enrolled("m-c1", "王芳"))
    await publish_events(
        broker.bootstrap,
        LOYALTY_FEEDBACK,
        [feedback_received("m-c1", 9), feedback_received("m-c1", 3, comment="送货太慢")],
    )

    await eventually(lambda: requests(cs_webhook), lambda n: n >= 1)
    [(headers, body)] = cs_webhook.requests
    # what the CS system does: hand the body and headers to a ready verifier with its secret
    alert = Webhook(WEBHOOK_SECRET).verify(body, headers)
    assert headers["webhook-id"] == alert["notification_id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # a body changed on the way
        Webhook(WEBHOOK_SECRET).verify(body.replace(b"m-c1", b"m-c2"), headers)
    assert (alert["type"], alert["member_id"], alert["data"]["score"]) == (
        "detractor_alert",
        "m-c1",
        3,
    )
    assert "送货太慢" in alert["text"]
    assert mail_server.data_commands == 0, "the alert is for customer service, not the member"
    # the member does not see alerts about themself; an admin does
    assert await notifications_of(notifications_api, "m-c1") == []
    # (marked sent once the receiver's answer is back: a moment after it has the request)
    admin = await eventually(
        lambda: notifications_api.get(
            "/v1/members/m-c1/notifications", headers=bearer("ops", admin=True)
        ),
        lambda r: [i["status"] for i in r.json()["items"]] != ["scheduled"],
    )
    assert [(i["type"], i["channel"], i["status"]) for i in admin.json()["items"]] == [
        ("detractor_alert", "webhook", "sent")
    ]


async def test_customer_service_is_alerted_about_a_member_at_most_once_a_day(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    cs_webhook: Receiver,
) -> None:
    today = datetime.now(UTC)
    answers = [
        feedback_received("m-c9", 0, comment="first", answered_at=today),
        feedback_received("m-c9", 1, comment="again", answered_at=today + timedelta(seconds=1)),
        feedback_received("m-c9", 0, comment="and again", answered_at=today + timedelta(days=1)),
    ]
    # one member's events are one partition's, in order: once the next day's alert is there,
    # the second answer of the first day has been handled too
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, answers)

    admin = bearer("ops", admin=True)
    items = await eventually(
        lambda: notifications_api.get("/v1/members/m-c9/notifications", headers=admin),
        lambda r: len(r.json()["items"]) >= 2,
    )
    assert [i["type"] for i in items.json()["items"]] == ["detractor_alert"] * 2
    await eventually(lambda: requests(cs_webhook), lambda n: n >= 2)
    alerts = [Webhook(WEBHOOK_SECRET).verify(b, h) for h, b in cs_webhook.requests]
    comments = sorted(alert["data"]["comment"] for alert in alerts)
    assert comments == ["and again", "first"]


async def test_a_webhook_answering_503_is_retried_and_404_fails(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    cs_webhook: Receiver,
) -> None:
    cs_webhook.statuses.extend([503, 404])
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, [feedback_received("m-c2", 0)])

    items = await eventually(
        lambda: notifications_api.get(
            "/v1/members/m-c2/notifications", headers=bearer("ops", admin=True)
        ),
        lambda r: [i["status"] for i in r.json()["items"]] == ["failed"],
    )
    [item] = items.json()["items"]
    assert item["attempts"] == 2
    assert "404" in item["reason"]
    # each attempt is signed anew, under the same id, on which the receiver dedupes
    assert len({headers["webhook-id"] for headers, _ in cs_webhook.requests}) == 1
    for headers, body in cs_webhook.requests:
        Webhook(WEBHOOK_SECRET).verify(body, headers)


def test_a_delivery_replayed_after_the_five_minute_window_is_refused_by_the_verifier() -> None:
    body, message_id = b'{"type":"detractor_alert"}', "3f1c2f52-5a51-4b55-9d3c-2b1f5c0d9a10"
    six_minutes_ago = str(int(time.time()) - 360)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": six_minutes_ago,
        "webhook-signature": sign(webhook_key(WEBHOOK_SECRET), message_id, six_minutes_ago, body),
    }

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(WEBHOOK_SECRET).verify(body, headers)


async def test_a_survey_invitation_carries_the_link_with_the_token(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await enrol(
        notifications_api,
        broker,
        member_enrolled("m-c3", "Bob", email="bob@example.com", locale="en"),
    )
    await publish_events(
        broker.bootstrap, LOYALTY_FEEDBACK, [feedback_requested("m-c3", "tok.en/+=")]
    )

    await eventually(lambda: mails(mail_server, "bob@example.com"), lambda n: n == 1)
    body = body_of(mail_server.to("bob@example.com")[0])
    assert "https://shop.example.com/survey?token=tok.en%2F%2B%3D" in body


async def test_points_earned_the_same_day_make_one_digest_in_the_evening_without_expired_ones(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    await enrol(notifications_api, broker, member_enrolled("m-c4", "王芳", email="c4@example.com"))
    await publish_events(broker.bootstrap, LOYALTY_POINTS, [points_earned("m-c4", 399)])
    await eventually(lambda: notifications_of(notifications_api, "m-c4"), lambda i: len(i) == 1)
    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [
            points_earned("m-c4", 1200),
            points_earned("m-c4", 500, status="expired"),  # a purchase older than the expiry
            points_earned("m-c4", 1),
        ],
    )
    await eventually(
        lambda: notifications_api.get("/metrics"),
        lambda r: 'type="points.earned"' in r.text and _applied(r.text) >= 4,
    )
    [item] = await notifications_of(notifications_api, "m-c4")
    assert datetime.fromisoformat(item["scheduled_for"]) == datetime(
        2026, 11, 24, 20, 0, tzinfo=SHANGHAI
    )

    clock.set(datetime(2026, 11, 24, 20, 0, 1, tzinfo=SHANGHAI))

    await eventually(lambda: mails(mail_server, "c4@example.com"), lambda n: n == 1)
    assert mail_server.to("c4@example.com")[0]["Subject"] == "王芳，您今天获得了1,600积分"  # noqa: RUF001
    body = body_of(mail_server.to("c4@example.com")[0])
    assert "3笔订单" in body


def _applied(metrics: str) -> float:
    for line in metrics.splitlines():
        if 'type="points.earned"' in line and 'outcome="applied"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_member_not_enrolled_yet_gets_the_message_once_the_enrolment_arrives(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-c5", "gold")])
    [_item] = await eventually(
        lambda: notifications_of(notifications_api, "m-c5"), lambda i: len(i) == 1
    )
    await eventually(
        lambda: notifications_of(notifications_api, "m-c5"),
        lambda i: i[0]["reason"] == "waiting-for-enrolment",
    )
    assert mail_server.data_commands == 0

    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [member_enrolled("m-c5", "王芳", email="c5@example.com")],
    )

    await eventually(lambda: mails(mail_server, "c5@example.com"), lambda n: n == 1)
    assert "金卡" in mail_server.to("c5@example.com")[0]["Subject"]


async def test_a_member_without_a_purchase_for_90_days_is_won_back_once(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    await enrol(notifications_api, broker, member_enrolled("m-c6", "王芳", email="c6@example.com"))
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-c6", "99.00")])
    pool, planner = (
        runtime_of(notifications_app).pool,
        state_of(notifications_app, NotificationsState).planner,
    )

    async def last_purchase() -> object:
        async with pool.acquire() as conn:
            return await conn.fetchval("SELECT last_purchase_at FROM member_activity")

    await eventually(last_purchase, lambda at: at is not None)
    now = datetime.now(UTC)
    clock.set(now + timedelta(days=89))
    assert (await run_schedules(pool, planner, clock))["win_back"] == 0
    clock.set(now + timedelta(days=91))
    assert (await run_schedules(pool, planner, clock))["win_back"] == 1
    assert (await run_schedules(pool, planner, clock))["win_back"] == 0, "once per absence"

    await eventually(lambda: mails(mail_server, "c6@example.com"), lambda n: n == 1)
    assert "想念您" in mail_server.to("c6@example.com")[0]["Subject"]
