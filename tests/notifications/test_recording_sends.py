"""Messages sent at the same time are recorded together: one transaction marks a round of sends
sent and writes their `notification.sent` events, not one transaction a message."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.delivery import repository
from loyalty_shared.db import Connection
from tests.notifications.conftest import MailServer, MovableClock
from tests.notifications.helpers import MORNING, due_together, published, sent_count
from tests.support.waiting import eventually

MEMBERS = [f"m-g{n:02d}" for n in range(24)]


async def test_sends_that_finish_together_are_marked_sent_in_fewer_writes_each_once(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes: list[int] = []
    mark_sent = repository.mark_sent

    async def counted(
        conn: Connection, attempts: Sequence[tuple[UUID, int]], now: datetime
    ) -> set[UUID]:
        writes.append(len(attempts))
        return await mark_sent(conn, attempts, now)

    monkeypatch.setattr(repository, "mark_sent", counted)
    await due_together(notifications_app, notifications_api, broker, clock, MEMBERS)

    clock.set(MORNING)  # all 24 fall due; the dispatcher sends 16 at a time
    await eventually(lambda: sent_count(notifications_api, MEMBERS), lambda n: n == len(MEMBERS))

    assert sum(writes) == len(MEMBERS)
    assert len(writes) < len(MEMBERS) / 2, writes
    assert Counter(str(m["To"]) for m in mail_server.received) == Counter(
        f"{m}@example.com" for m in MEMBERS
    )
    sent = await published(broker.bootstrap, expect=len(MEMBERS) + 1, timeout_s=3)
    assert Counter(e["type"] for e in sent) == {"notification.sent": len(MEMBERS)}
    assert sorted(e["subject"] for e in sent) == MEMBERS
