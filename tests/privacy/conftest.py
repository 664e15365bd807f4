"""The four services on one broker, as the shop and the app see them, for the member data rights
scenarios: a mail server that accepts everything, the feedback jobs run only when a test says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_feedback.app import create_app as create_feedback_app
from loyalty_feedback.settings import FeedbackSettings
from loyalty_notifications.app import create_app as create_notifications_app
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.runtime import runtime_of
from tests.support.apps import client_of, running
from tests.support.tokens import SECRET

SERVICES = ("points", "tiers", "notifications", "feedback")
NEVER_S = 86_400.0


@dataclass
class Mailbox:
    """An SMTP server that accepts every message and keeps its bytes."""

    port: int
    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope.original_content or b"")
        return "250 Message accepted"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def notifications_settings(
    new_database: object, broker: LocalBroker, mailbox: Mailbox
) -> NotificationsSettings:
    assert callable(new_database)
    return NotificationsSettings(
        notifications_database_url=new_database("notifications"),
        kafka_bootstrap=broker.bootstrap,
        jwt_secret=SECRET,
        kafka_session_timeout_ms=6000,
        notifications_smtp_host="127.0.0.1",
        notifications_smtp_port=mailbox.port,
        notifications_smtp_tls="none",  # a plain mailbox on this machine
        notifications_dispatch_interval_s=0.05,
        notifications_schedule_interval_s=NEVER_S,
    )


@pytest.fixture
def feedback_settings(new_database: object, broker: LocalBroker) -> FeedbackSettings:
    assert callable(new_database)
    return FeedbackSettings(
        feedback_database_url=new_database("feedback"),
        kafka_bootstrap=broker.bootstrap,
        jwt_secret=SECRET,
        kafka_session_timeout_ms=6000,
        feedback_jobs_interval_s=NEVER_S,
        feedback_insight_interval_s=NEVER_S,
    )


@dataclass
class Platform:
    bootstrap: str
    apps: dict[str, FastAPI]
    api: dict[str, httpx.AsyncClient]

    def pool(self, service: str) -> asyncpg.Pool:
        pool: asyncpg.Pool = runtime_of(self.apps[service]).pool
        return pool

    async def fetch(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool(service).acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(query, *args)
            return rows


@pytest.fixture
async def platform(
    broker: LocalBroker,
    points_app: FastAPI,
    tiers_app: FastAPI,
    notifications_settings: NotificationsSettings,
    feedback_settings: FeedbackSettings,
) -> AsyncIterator[Platform]:
    async with (
        running(create_notifications_app(notifications_settings)) as notifications,
        running(create_feedback_app(feedback_settings)) as feedback,
    ):
        apps = {
            "points": points_app,
            "tiers": tiers_app,
            "notifications": notifications,
            "feedback": feedback,
        }
        async with (
            client_of(points_app) as points_api,
            client_of(tiers_app) as tiers_api,
            client_of(notifications) as notifications_api,
            client_of(feedback) as feedback_api,
        ):
            yield Platform(
                broker.bootstrap,
                apps,
                {
                    "points": points_api,
                    "tiers": tiers_api,
                    "notifications": notifications_api,
                    "feedback": feedback_api,
                },
            )
