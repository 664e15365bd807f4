"""Never twice: duplicated and replayed trigger events make one message, and a service killed in
the middle of a send repeats it at most once after the restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_notifications.settings import NotificationsSettings
from loyalty_notifications.state import NotificationsState
from loyalty_notifications.triggers.handlers import tier_changed_handler
from loyalty_shared.events.decoding import Decoded, decode_event
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_TIERS
from loyalty_shared.runtime import runtime_of
from tests.notifications.builders import member_enrolled, tier_changed
from tests.notifications.conftest import MailServer
from tests.notifications.helpers import notifications_of, published, until_enrolled
from tests.support.events import encode
from tests.support.kafka import publish_events
from tests.support.processes import ServiceProcess
from tests.support.waiting import eventually


async def test_a_duplicated_and_replayed_tier_change_sends_one_email(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [member_enrolled("m-x1", "王芳", email="x1@example.com")],
    )
    await until_enrolled(notifications_api, "m-x1")
    change = tier_changed("m-x1", "gold")

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [change, change])  # duplicated
    await eventually(
        lambda: notifications_of(notifications_api, "m-x1"),
        lambda items: [i["status"] for i in items] == ["sent"],
    )
    await publish_events(broker.bootstrap, LOYALTY_TIERS, [change])  # replayed after the send
    await asyncio.sleep(1)  # give a wrong second message the time to show up

    assert len(mail_server.to("x1@example.com")) == 1
    assert len(await notifications_of(notifications_api, "m-x1")) == 1
    assert len(await published(broker.bootstrap, expect=2, timeout_s=2)) == 1


async def _status(dsn: str) -> tuple[str, int] | None:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT status, attempts FROM notification")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()
    return (row["status"], row["attempts"]) if row else None


@pytest.mark.slow
async def test_killed_between_attempt_recorded_and_sent_the_email_goes_at_most_once_more(
    notifications_settings: NotificationsSettings,
    broker: LocalBroker,
    mail_server: MailServer,
    tmp_path: Path,
) -> None:
    dsn = notifications_settings.database_url
    service = ServiceProcess(
        "notifications",
        port=free_port(),
        env={
            "LOYALTY_NOTIFICATIONS_DATABASE_URL": dsn,
            "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
            "LOYALTY_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "LOYALTY_NOTIFICATIONS_SMTP_PORT": str(mail_server.port),
            "LOYALTY_NOTIFICATIONS_SMTP_CA_FILE": str(mail_server.ca_file),
            "LOYALTY_NOTIFICATIONS_DISPATCH_INTERVAL_S": "0.05",
            "LOYALTY_NOTIFICATIONS_SEND_TIMEOUT_S": "2",
            "LOYALTY_NOTIFICATIONS_SEND_LEASE_S": "3",
        },
        log=tmp_path / "notifications.log",
    )
    service.start()
    await asyncio.to_thread(service.wait_ready)
    # the mail server takes the message, then stalls before it answers: a send under way
    mail_server.hold = True
    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [member_enrolled("m-x2", "王芳", email="x2@example.com")],
    )
    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-x2", "gold")])
    await asyncio.to_thread(mail_server.holding.wait, 30)
    assert await _status(dsn) == ("sending", 1), "the attempt is recorded before the send"

    service.kill()
    mail_server.hold = False
    mail_server.released.set()
    service.start()

    await eventually(lambda: _status(dsn), lambda s: s == ("sent", 2), timeout_s=60)
    await asyncio.sleep(1)
    received = mail_server.to("x2@example.com")
    assert 1 <= len(received) <= 2, "at most one more send after the restart"
    assert len({m["Message-ID"] for m in received}) == 1, "a repeat carries the same Message-ID"
    assert await _status(dsn) == ("sent", 2)
    events = await published(broker.bootstrap, expect=1)
    assert [e["type"] for e in events] == ["notification.sent"]
    assert await asyncio.to_thread(service.terminate) in (0, -15)


async def test_the_same_cause_recorded_twice_past_the_inbox_is_still_one_notification(
    notifications_app: FastAPI,
) -> None:
    # the inbox already drops a redelivered event id; the unique (trigger, cause, channel) holds
    # even without it (a restored inbox, a handler run twice by hand)
    change = tier_changed("m-x3", "gold")
    decoded = decode_event(encode(change), {"tier.changed": TierChangedV1})
    assert isinstance(decoded, Decoded)
    app = notifications_app
    state = state_of(app, NotificationsState)
    handler = tier_changed_handler(state.planner, state.clock)
    for _ in range(2):
        async with runtime_of(app).pool.acquire() as conn, conn.transaction():
            await handler(conn, [decoded])

    async with runtime_of(app).pool.acquire() as conn:
        rows = await conn.fetch("SELECT trigger, cause FROM notification WHERE member_id = 'm-x3'")
    assert [(r["trigger"], r["cause"]) for r in rows] == [("tier_upgraded", change["id"])]
