"""After a restore from a backup older than some erasures, `loyalty member reapply-erasures`
applies them again from the register on `loyalty.privacy`: what the backup lost is erased
again, what it had is a duplicate to the restored inbox (runbook: docs/operations.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from loyalty_devkit import members
from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.app import create_app
from loyalty_notifications.settings import NotificationsSettings
from tests.privacy.builders import EMAIL, answers, erasure_request, kafka, profile, shop_publishes
from tests.support.apps import running
from tests.support.waiting import eventually


async def contact_email(url: str, member_id: str) -> str | None:
    conn = await asyncpg.connect(url)
    try:
        email: str | None = await conn.fetchval(
            "SELECT email FROM member_contact WHERE member_id = $1", member_id
        )
        return email
    finally:
        await conn.close()


async def test_erasures_a_restore_lost_are_applied_again_and_the_others_change_nothing(
    broker: LocalBroker,
    new_database: object,
    postgres_server: str,
    notifications_settings: NotificationsSettings,
) -> None:
    live = notifications_settings.database_url
    before_backup, after_backup = erasure_request("m-early"), erasure_request("m-late")
    async with running(create_app(notifications_settings)):
        await shop_publishes(broker.bootstrap, profile("m-early"), profile("m-late"))
        await shop_publishes(broker.bootstrap, before_backup)
        await answers(broker.bootstrap, expect=1)
        await eventually(lambda: contact_email(live, "m-late"), lambda email: email == EMAIL)
    assert callable(new_database)
    backup = new_database("backup")
    server = await asyncpg.connect(postgres_server)
    try:
        await server.execute(
            f'CREATE DATABASE "{urlsplit(backup).path[1:]}" TEMPLATE "{urlsplit(live).path[1:]}"'
        )
    finally:
        await server.close()
    async with running(create_app(notifications_settings)):
        await shop_publishes(broker.bootstrap, after_backup)
        await answers(broker.bootstrap, expect=2)
    assert await contact_email(live, "m-late") is None

    restored = notifications_settings.model_copy(update={"notifications_database_url": backup})
    async with running(create_app(restored)):
        assert await contact_email(backup, "m-late") == EMAIL  # back with the old backup

        due = await members.reapply(kafka(broker.bootstrap))

        assert [(e.member_id, e.request_id) for e in due] == [
            ("m-early", before_backup["id"]),
            ("m-late", after_backup["id"]),
        ]
        await eventually(lambda: contact_email(backup, "m-late"), lambda email: email is None)
        assert len(await answers(broker.bootstrap, expect=4, timeout_s=5)) == 3
        conn = await asyncpg.connect(backup)
        try:
            register = await conn.fetch("SELECT member_id, request_id FROM member_erasure")
        finally:
            await conn.close()
        assert sorted(tuple(r) for r in register) == [
            ("m-early", before_backup["id"]),
            ("m-late", after_backup["id"]),
        ]
