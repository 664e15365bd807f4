"""Two dispatchers on one database (two replicas of the service) never send a message twice."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.channels.registry import build_channels
from loyalty_notifications.delivery.dispatcher import Dispatcher
from loyalty_notifications.state import NotificationsState
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_TIERS
from loyalty_shared.runtime import runtime_of
from tests.notifications.builders import member_enrolled, tier_changed
from tests.notifications.conftest import MailServer, MovableClock
from tests.notifications.helpers import notifications_of, until_enrolled
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")
MEMBERS = [f"m-r{n:02d}" for n in range(40)]


async def test_two_replicas_dispatching_at_once_send_each_message_once(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    # everything is recorded at night, so all of it falls due together at 08:00
    clock.set(datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI))
    for member in MEMBERS:
        response = await notifications_api.put(
            f"/v1/members/{member}/preferences",
            json={"quiet_hours": {"start": "22:00", "end": "08:00"}},
            headers=bearer(member),
        )
        assert response.status_code == 200
    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [member_enrolled(m, "王芳", email=f"{m}@example.com") for m in MEMBERS],
    )
    await until_enrolled(notifications_api, *MEMBERS)
    await publish_events(
        broker.bootstrap, LOYALTY_TIERS, [tier_changed(m, "gold") for m in MEMBERS]
    )

    async def deferred() -> int:
        async with runtime_of(notifications_app).pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM notification WHERE reason LIKE 'quiet-hours%'"
                )
            )

    await eventually(deferred, lambda n: n == len(MEMBERS))
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
        clock.set(datetime(2026, 11, 25, 8, 0, 1, tzinfo=SHANGHAI))
        await eventually(lambda: _sent(notifications_api), lambda n: n == len(MEMBERS))
    finally:
        await second.stop()

    assert Counter(str(m["To"]) for m in mail_server.received) == Counter(
        f"{m}@example.com" for m in MEMBERS
    )
    assert mail_server.data_commands == len(MEMBERS)


async def _sent(api: httpx.AsyncClient) -> int:
    total = 0
    for member in MEMBERS:
        items = await notifications_of(api, member)
        total += sum(1 for i in items if i["status"] == "sent")
    return total
