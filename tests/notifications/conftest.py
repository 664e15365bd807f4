"""Real servers for the notifications scenarios: an SMTP server (aiosmtpd, STARTTLS required,
with a self-signed certificate made for the test session) and an HTTP server (the
customer-service webhook) started here, plus the service on a clock the test can move."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import tempfile
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_devkit.local_tls import LocalCertificate, self_signed_certificate
from loyalty_notifications.app import create_app
from loyalty_notifications.settings import NotificationsSettings
from tests.support.apps import client_of, on_test_broker, running

#: A Standard Webhooks secret: `whsec_` and the base64 of 32 bytes.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"cs-webhook-key-for-tests-32bytes").decode()


class MovableClock:
    """Real time plus an offset the test sets: retries and leases still pass on their own."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)


@dataclass
class MailServer:
    """Keeps every message it accepted; `replies` are answered to DATA first, then 250."""

    port: int = 0
    #: The certificate it offers with STARTTLS: what a client trusts (its `cert_file`).
    certificate: LocalCertificate | None = None
    received: list[EmailMessage] = field(default_factory=list)
    replies: deque[str] = field(default_factory=deque)
    data_commands: int = 0
    #: The client's address of each DATA: one per SMTP session.
    peers: list[object] = field(default_factory=list)
    #: While `hold` is set, DATA is held until `released` (the message is kept, the reply
    #: waits): a send "under way" that the test can interrupt.
    hold: bool = False
    holding: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_commands += 1
        self.peers.append(session.peer)
        reply = self.replies.popleft() if self.replies else "250 Message accepted"
        if reply.startswith("250"):
            content = envelope.original_content or b""
            self.received.append(message_from_bytes(content, policy=policy.default))
        if self.hold:
            self.holding.set()
            await asyncio.to_thread(self.released.wait, 60)
        return reply

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]

    @property
    def ca_file(self) -> Path:
        assert self.certificate is not None
        return self.certificate.cert_file


@functools.cache
def local_certificate() -> LocalCertificate:
    """One self-signed certificate per test process (a function, not a fixture, so the suites
    that borrow `mail_server` need nothing more)."""
    return self_signed_certificate(Path(tempfile.mkdtemp(prefix="loyalty-test-tls-")))


@contextlib.contextmanager
def serving_mail(*, idle_timeout_s: float = 300) -> Iterator[MailServer]:
    """A mail server that refuses mail before STARTTLS, as a real submission server does, and
    closes a session idle for `idle_timeout_s` (aiosmtpd's default: 5 minutes)."""
    certificate = local_certificate()
    server = MailServer(port=free_port(), certificate=certificate)
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        tls_context=certificate.server_context(),
        require_starttls=True,
        timeout=idle_timeout_s,
    )
    controller.start()
    try:
        yield server
    finally:
        server.released.set()
        controller.stop()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    with serving_mail() as server:
        yield server


@dataclass
class Receiver:
    """An HTTP server that records each POST and answers `statuses` first, then 200."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)


@pytest.fixture
def cs_webhook() -> Iterator[Receiver]:
    yield from _receiving("/cs/alerts")


@pytest.fixture
def provider() -> Iterator[Receiver]:
    """The push/SMS provider's HTTP API."""
    yield from _receiving("/v1/messages")


def _receiving(path: str) -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = receiver.statuses.popleft() if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def notifications_settings(
    new_database: Callable[[str], str],
    broker: LocalBroker,
    mail_server: MailServer,
    cs_webhook: Receiver,
) -> NotificationsSettings:
    return NotificationsSettings(
        notifications_database_url=new_database("notifications"),
        **on_test_broker(broker),
        # the receivers below listen on plain http on this machine
        environment="development",
        notifications_smtp_host="127.0.0.1",
        notifications_smtp_port=mail_server.port,
        notifications_smtp_ca_file=mail_server.ca_file,
        notifications_cs_webhook_url=cs_webhook.url,
        notifications_webhook_secret=WEBHOOK_SECRET,
        notifications_dispatch_interval_s=0.05,
        notifications_retry_base_s=0.2,
        notifications_retry_max_s=1.0,
        notifications_send_timeout_s=4,
        notifications_send_lease_s=5,
        notifications_schedule_interval_s=3600,
    )


@pytest.fixture
async def notifications_app(
    notifications_settings: NotificationsSettings, clock: MovableClock
) -> AsyncIterator[FastAPI]:
    async with running(create_app(notifications_settings, clock=clock)) as app:
        yield app


@pytest.fixture
async def notifications_api(notifications_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(notifications_app) as client:
        yield client
