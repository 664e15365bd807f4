"""Two dispatchers on one database (two replicas of the service) never send a message twice."""

from __future__ import annotations

from collections import Counter

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.channels.registry import build_channels
from loyalty_notifications.delivery.dispatcher import Dispatcher
from loyalty_notifications.state import NotificationsState
from loyalty_shared.http.state import state_of
from loyalty_shared.runtime import runtime_of
from tests.notifications.conftest import MailServer, MovableClock
from tests.notifications.helpers import MORNING, due_together, sent_count
from tests.support.waiting import eventually

MEMBERS = [f"m-r{n:02d}" for n in range(40)]


async def test_two_replicas_dispatching_at_once_send_each_message_once(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    await due_together(notifications_app, notifications_api, broker, clock, MEMBERS)
    state = state_of(notifications_app, NotificationsState)
    second = Dispatcher(
        pool=runtime_of(notifications_app).pool,
        settings=state.settings.model_copy(update={"notifications_dispatch_concurrency": 3}),
        channels=build_channels(state.settings),
        renderer=state.renderer,
        clock=clock,
    )
    await second.start()
    try:
        clock.set(MORNING)
        await eventually(
            lambda: sent_count(notifications_api, MEMBERS), lambda n: n == len(MEMBERS)
        )
    finally:
        await second.stop()

    assert Counter(str(m["To"]) for m in mail_server.received) == Counter(
        f"{m}@example.com" for m in MEMBERS
    )
    assert mail_server.data_commands == len(MEMBERS)
