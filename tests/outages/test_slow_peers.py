"""A slow peer holds up nobody else: customer service's webhook takes 30 seconds to answer a
detractor alert, and meanwhile another member's congratulation email goes out at once and the
consumer goes on recording new messages."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.app import create_app
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_FEEDBACK, LOYALTY_TIERS
from tests.notifications.builders import feedback_received, member_enrolled, tier_changed
from tests.notifications.conftest import MailServer, MovableClock
from tests.notifications.helpers import notifications_of, until_enrolled
from tests.support.apps import client_of, running
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

HANG_S = 30.0


@dataclass
class SlowWebhook:
    """Takes every POST and answers 200 only after `HANG_S` (or when released)."""

    url: str = ""
    arrived: list[float] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def slow_webhook() -> Iterator[SlowWebhook]:
    webhook = SlowWebhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            webhook.arrived.append(time.monotonic())
            webhook.released.wait(HANG_S)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    webhook.url = f"http://127.0.0.1:{server.server_address[1]}/cs/alerts"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield webhook
    finally:
        webhook.released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
async def notifications_api(
    notifications_settings: NotificationsSettings, slow_webhook: SlowWebhook, clock: MovableClock
) -> AsyncIterator[httpx.AsyncClient]:
    settings = notifications_settings.model_copy(
        update={
            "notifications_cs_webhook_url": slow_webhook.url,
            # the send may take the webhook's whole 30 s: a round that waited for it would hold
            # every message behind it that long (well beyond this busy machine's jitter)
            "notifications_send_timeout_s": HANG_S + 15,
            "notifications_send_lease_s": HANG_S + 30,
        }
    )
    app: FastAPI = create_app(settings, clock=clock)
    async with running(app), client_of(app) as client:
        yield client


async def _count(value: int) -> int:
    return value


async def test_a_webhook_that_hangs_30_s_delays_no_other_members_email_nor_the_consumer(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    slow_webhook: SlowWebhook,
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [
            member_enrolled("m-s1", "Unhappy", email="unhappy@example.com"),
            member_enrolled("m-s2", "Happy", email="happy@example.com"),
        ],
    )
    await until_enrolled(notifications_api, "m-s1", "m-s2")

    # a detractor: the alert to customer service hangs in the webhook
    await publish_events(broker.bootstrap, LOYALTY_FEEDBACK, [feedback_received("m-s1", 1)])
    await eventually(lambda: _count(len(slow_webhook.arrived)), lambda n: n == 1)
    hang_started = time.monotonic()

    # meanwhile another member moves up a tier: recorded by the consumer and emailed at once
    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-s2", "gold")])
    await eventually(
        lambda: notifications_of(notifications_api, "m-s2"),
        lambda items: [i["type"] for i in items] == ["tier_upgraded"],
        timeout_s=10,
    )
    await eventually(
        lambda: _count(len(mail_server.to("happy@example.com"))), lambda n: n == 1, timeout_s=10
    )
    waited = time.monotonic() - hang_started
    assert waited < 10, f"the email waited {waited:.1f}s behind the hanging webhook"
    assert time.monotonic() - slow_webhook.arrived[0] < HANG_S, "the webhook is still hanging"
    assert len(slow_webhook.arrived) == 1
    slow_webhook.released.set()  # the alert is answered at last (the app stops sooner)
    await eventually(
        lambda: notifications_api.get(
            "/v1/members/m-s1/notifications", headers=bearer("ops", admin=True)
        ),
        lambda r: [i["type"] for i in r.json()["items"]] == ["detractor_alert"],
    )
