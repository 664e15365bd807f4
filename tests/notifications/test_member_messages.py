"""Messages to members over real email: the right words, only with consent, never at night,
retried when the mail server says "later", failed at once when it says "never"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_TIERS
from tests.notifications.builders import member_enrolled, tier_changed
from tests.notifications.conftest import MailServer, MovableClock
from tests.notifications.helpers import body_of, enrol, notifications_of, published, until_enrolled
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_a_gold_upgrade_sends_one_chinese_email_with_the_members_name_and_tier_name(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await enrol(
        notifications_api, broker, member_enrolled("m-n1", "王芳", email="wang.fang@example.com")
    )

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-n1", "gold")])

    items = await eventually(
        lambda: notifications_of(notifications_api, "m-n1"),
        lambda items: [i["status"] for i in items] == ["sent"],
    )
    [mail] = mail_server.to("wang.fang@example.com")
    assert "王芳" in mail["Subject"]
    assert "金卡" in mail["Subject"]
    body = body_of(mail)
    assert "王芳" in body
    assert "金卡会员" in body
    assert "2027年11月24日" in body
    assert mail["Content-Language"] == "zh-CN"
    assert (items[0]["type"], items[0]["channel"], items[0]["reason"]) == (
        "tier_upgraded",
        "email",
        None,
    )
    [sent] = await published(broker.bootstrap, expect=1)
    assert sent["type"] == "notification.sent"
    assert sent["data"]["notification_id"] == items[0]["id"]
    assert sent["data"]["trigger"] == "tier_upgraded"


async def test_an_english_speaking_member_gets_a_kind_english_downgrade_message(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await enrol(
        notifications_api,
        broker,
        member_enrolled("m-n2", "Alice", email="alice@example.com", locale="en"),
    )
    await publish_events(
        broker.bootstrap,
        LOYALTY_TIERS,
        [tier_changed("m-n2", "silver", from_tier="gold", direction="down")],
    )

    await eventually(lambda: notifications_of(notifications_api, "m-n2"), lambda i: len(i) == 1)
    await eventually(lambda: _count(mail_server, "alice@example.com"), lambda n: n == 1)
    [mail] = mail_server.to("alice@example.com")
    body = body_of(mail)
    assert "Dear Alice" in body
    assert "Silver" in body
    assert "welcoming you back" in body


async def _count(mail_server: MailServer, address: str) -> int:
    return len(mail_server.to(address))


async def test_no_email_without_consent(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await enrol(
        notifications_api,
        broker,
        member_enrolled(
            "m-n3",
            "李雷",
            email="li.lei@example.com",
            consents={"email": False, "sms": False, "push": False},
        ),
    )

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-n3", "gold")])

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-n3"),
        lambda items: [i["status"] for i in items] == ["suppressed"],
    )
    assert item["reason"].startswith("no-consent")
    assert mail_server.data_commands == 0


async def test_consent_withdrawn_before_the_send_suppresses_the_message(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    # at night: the message waits for morning; meanwhile the member withdraws consent
    clock.set(datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI))
    await enrol(
        notifications_api, broker, member_enrolled("m-n4", "韩梅梅", email="han@example.com")
    )
    quiet = {"quiet_hours": {"start": "22:00", "end": "08:00"}}
    assert (
        await notifications_api.put(
            "/v1/members/m-n4/preferences", json=quiet, headers=bearer("m-n4")
        )
    ).status_code == 200
    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-n4", "gold")])
    await eventually(
        lambda: notifications_of(notifications_api, "m-n4"),
        lambda items: len(items) == 1 and (items[0]["reason"] or "").startswith("quiet-hours"),
    )
    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [
            member_enrolled(
                "m-n4",
                "韩梅梅",
                email="han@example.com",
                consents={"email": False, "sms": False, "push": False},
                event_type="member.updated",
            ),
        ],
    )
    await eventually(
        lambda: notifications_api.get("/v1/members/m-n4/preferences", headers=bearer("m-n4")),
        lambda r: r.json()["consents"]["email"] is False,
    )

    clock.set(datetime(2026, 11, 25, 8, 0, 1, tzinfo=SHANGHAI))

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-n4"),
        lambda items: items[0]["status"] != "scheduled",
    )
    assert (item["status"], item["reason"].split(":")[0]) == ("suppressed", "no-consent")
    assert mail_server.data_commands == 0


async def test_quiet_hours_defer_the_message_to_their_end_rather_than_drop_it(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    clock.set(datetime(2026, 11, 24, 23, 30, tzinfo=SHANGHAI))
    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [member_enrolled("m-n5", "张伟", email="zhang.wei@example.com")],
    )
    response = await notifications_api.put(
        "/v1/members/m-n5/preferences",
        json={"quiet_hours": {"start": "22:00", "end": "08:00"}, "time_zone": "Asia/Shanghai"},
        headers=bearer("m-n5"),
    )
    assert response.status_code == 200, response.text
    await until_enrolled(notifications_api, "m-n5")

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-n5", "platinum")])

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-n5"),
        lambda items: len(items) == 1 and (items[0]["reason"] or "").startswith("quiet-hours"),
    )
    assert item["status"] == "scheduled"
    assert datetime.fromisoformat(item["scheduled_for"]) == datetime(
        2026, 11, 25, 8, 0, tzinfo=SHANGHAI
    )
    assert mail_server.data_commands == 0

    clock.set(datetime(2026, 11, 25, 7, 59, tzinfo=SHANGHAI))
    assert (await notifications_of(notifications_api, "m-n5"))[0]["status"] == "scheduled"
    clock.set(datetime(2026, 11, 25, 8, 0, 5, tzinfo=SHANGHAI))

    await eventually(
        lambda: notifications_of(notifications_api, "m-n5"),
        lambda items: items[0]["status"] == "sent",
    )
    [mail] = mail_server.to("zhang.wei@example.com")
    assert "白金卡" in mail["Subject"]


async def test_a_mail_server_answering_451_then_250_delivers_the_message_once(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    mail_server.replies.append("451 4.3.0 Temporary local problem, try again")
    await enrol(
        notifications_api, broker, member_enrolled("m-n6", "赵敏", email="zhao.min@example.com")
    )

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-n6", "gold")])

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-n6"),
        lambda items: len(items) == 1 and items[0]["status"] == "sent",
    )
    assert item["attempts"] == 2
    assert mail_server.data_commands == 2
    assert len(mail_server.to("zhao.min@example.com")) == 1
    events = await published(broker.bootstrap, expect=1)
    assert [e["type"] for e in events] == ["notification.sent"]


async def test_a_mail_server_answering_550_fails_at_once_with_notification_failed(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    mail_server.replies.append("550 5.1.1 No such user here")
    await enrol(
        notifications_api, broker, member_enrolled("m-n7", "周芷若", email="nobody@example.com")
    )

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-n7", "gold")])

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-n7"),
        lambda items: len(items) == 1 and items[0]["status"] == "failed",
    )
    assert item["attempts"] == 1
    assert "550" in item["reason"]
    assert mail_server.data_commands == 1, "a permanent refusal is not retried"
    [failed] = await published(broker.bootstrap, expect=1)
    assert failed["type"] == "notification.failed"
    assert failed["data"]["notification_id"] == item["id"]
    assert "550" in failed["data"]["reason"]
