"""Reading what the notifications service recorded, published and mailed, and waiting until it
knows a member; the email channel on its own, and a message to send through it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.channels.base import Message
from loyalty_notifications.channels.email import EmailChannel
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.kafka.topics import (
    COMMERCE_MEMBERS,
    LOYALTY_NOTIFICATIONS,
    LOYALTY_POINTS,
    LOYALTY_TIERS,
)
from loyalty_shared.runtime import runtime_of
from tests.notifications.builders import member_enrolled, tier_changed
from tests.notifications.conftest import MailServer, MovableClock
from tests.support.kafka import publish_events, read_events
from tests.support.tokens import SECRET, bearer
from tests.support.waiting import eventually

#: A rendered birthday email, as the dispatcher hands it to the email channel.
BIRTHDAY = Message(
    notification_id="3f1c2f52-5a51-4b55-9d3c-2b1f5c0d9a10",
    member_id="m-1",
    trigger="birthday",
    channel="email",
    to="wang.fang@example.com",
    subject="王芳, 生日快乐",
    body="祝您生日快乐\n",
    language="zh-CN",
)


def email_settings(port: int, **settings: Any) -> NotificationsSettings:
    """Settings for the email channel alone (no database), to the mail server on `port`."""
    return NotificationsSettings(
        notifications_database_url="postgresql://unused/x",
        jwt_secret=SECRET,
        notifications_smtp_port=port,
        **settings,
    )


async def send_birthdays(channel: EmailChannel, count: int) -> None:
    """`count` birthday mails, one after the other, each a notification of its own."""
    for n in range(count):
        await channel.send(replace(BIRTHDAY, notification_id=f"{n}-{BIRTHDAY.notification_id}"))


SHANGHAI = ZoneInfo("Asia/Shanghai")
#: When the messages `due_together` deferred fall due, all at once.
MORNING = datetime(2026, 11, 25, 8, 0, 1, tzinfo=SHANGHAI)


async def due_together(
    app: FastAPI,
    api: httpx.AsyncClient,
    broker: LocalBroker,
    clock: MovableClock,
    members: Sequence[str],
) -> None:
    """A tier-change email to each member, recorded in their quiet hours at night so that all
    fall due together when `clock` is set to `MORNING`."""
    clock.set(datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI))
    for member in members:
        response = await api.put(
            f"/v1/members/{member}/preferences",
            json={"quiet_hours": {"start": "22:00", "end": "08:00"}},
            headers=bearer(member),
        )
        assert response.status_code == 200
    await enrol(
        api, broker, *(member_enrolled(m, "王芳", email=f"{m}@example.com") for m in members)
    )
    await publish_events(
        broker.bootstrap, LOYALTY_TIERS, [tier_changed(m, "gold") for m in members]
    )

    async def deferred() -> int:
        async with runtime_of(app).pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM notification WHERE reason LIKE 'quiet-hours%'"
                )
            )

    await eventually(deferred, lambda n: n == len(members))


async def sent_count(api: httpx.AsyncClient, members: Sequence[str]) -> int:
    """How many of the members' notifications are sent."""
    total = 0
    for member in members:
        total += sum(1 for i in await notifications_of(api, member) if i["status"] == "sent")
    return total


async def notifications_of(api: httpx.AsyncClient, member_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/members/{member_id}/notifications", headers=bearer(member_id))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def published(bootstrap: str, *, expect: int, timeout_s: float = 10) -> list[dict[str, Any]]:
    return await read_events(bootstrap, LOYALTY_NOTIFICATIONS, expect=expect, timeout_s=timeout_s)


async def enrol(api: httpx.AsyncClient, broker: LocalBroker, *events: dict[str, Any]) -> None:
    """Publish member enrolments (or updates) and wait until the service knows each member."""
    await publish_events(broker.bootstrap, COMMERCE_MEMBERS, list(events))
    await until_enrolled(api, *(str(event["subject"]) for event in events))


async def mails(server: MailServer, address: str) -> int:
    """How many messages the mail server accepted for `address` (a probe for `eventually`)."""
    return len(server.to(address))


async def until_enrolled(api: httpx.AsyncClient, *member_ids: str) -> None:
    """Wait until the service has read each member's enrolment (their preferences say so)."""
    for member_id in member_ids:
        preferences = partial(
            api.get, f"/v1/members/{member_id}/preferences", headers=bearer(member_id)
        )
        await eventually(preferences, lambda r: r.json()["enrolled"])


def body_of(mail: EmailMessage) -> str:
    """The text of a mail as its reader sees it (the preferred body part)."""
    part = mail.get_body()
    assert part is not None, "a mail without a body"
    text: str = part.get_content()
    return text


def the_mail_to(server: MailServer, address: str) -> str:
    """The text of the one mail `address` received."""
    [mail] = server.to(address)
    return body_of(mail)


async def mailed_in_both_languages(
    api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    members: tuple[str, str],
    events: list[dict[str, Any]],
) -> tuple[str, str]:
    """Enrol `members`, one reading zh-CN (王芳) and one en (Ann), each with the address
    `<member>@example.com`; publish `events` on loyalty.points; wait until each member's newest
    message is sent and return the mail each received, in that order."""
    chinese, english = members
    await enrol(
        api,
        broker,
        member_enrolled(chinese, "王芳", email=f"{chinese}@example.com"),
        member_enrolled(english, "Ann", email=f"{english}@example.com", locale="en"),
    )
    await publish_events(broker.bootstrap, LOYALTY_POINTS, events)
    for member in members:
        await eventually(partial(notifications_of, api, member), latest_is("sent"))
    return (
        the_mail_to(mail_server, f"{chinese}@example.com"),
        the_mail_to(mail_server, f"{english}@example.com"),
    )


def latest_is(status: str) -> Callable[[list[dict[str, Any]]], bool]:
    """A probe's condition: the member's newest message has `status`."""
    return lambda items: bool(items) and items[0]["status"] == status


async def stored_payload(database_url: str, member_id: str, trigger: str) -> Any:
    """What the service keeps of the member's message of `trigger` (rendered when it is sent)."""
    conn = await asyncpg.connect(database_url)
    try:
        payload = await conn.fetchval(
            "SELECT payload FROM notification WHERE member_id = $1 AND trigger = $2",
            member_id,
            trigger,
        )
    finally:
        await conn.close()
    return orjson.loads(payload)
