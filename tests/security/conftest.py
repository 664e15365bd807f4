"""The four services running in-process against a real broker and PostgreSQL, started once for
the security tests (`service` is parametrized over them), each with its client and its database
to look into. Once, not per test: the tests only call the APIs, and sixteen starts of a service
(three seconds each, mostly the consumer group forming) would be most of their time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_feedback.app import create_app as create_feedback_app
from loyalty_feedback.settings import FeedbackSettings
from loyalty_notifications.app import create_app as create_notifications_app
from loyalty_notifications.settings import NotificationsSettings
from loyalty_points.app import create_app as create_points_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.program.loader import default_program_path
from loyalty_shared.runtime import runtime_of
from loyalty_tiers.app import create_app as create_tiers_app
from loyalty_tiers.settings import TiersSettings
from tests.conftest import PARTITIONS
from tests.feedback.conftest import NEVER_S
from tests.notifications.conftest import cs_webhook, mail_server
from tests.support.apps import client_of, running
from tests.support.databases import Databases
from tests.support.tokens import SECRET

__all__ = ["cs_webhook", "mail_server"]

SERVICES = ["points", "tiers", "notifications", "feedback"]

#: Tables that change by themselves while a service runs (the relay empties the outbox, the
#: consumer records what it applied, dbmate its versions): not state a request could change.
MOVING_TABLES = {"outbox", "processed_event", "consumer_position", "schema_migrations"}


@dataclass
class RunningService:
    name: str
    app: FastAPI
    api: httpx.AsyncClient
    dsn: str

    async def fingerprint(self, conn: asyncpg.Connection | None = None) -> dict[str, str]:
        """An md5 of every table's rows (the moving ones left out): equal means unchanged."""
        own = conn is None
        conn = conn or await asyncpg.connect(self.dsn)
        try:
            tables = [
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                )
                if r["tablename"] not in MOVING_TABLES
            ]
            query = " UNION ALL ".join(
                f"SELECT '{t}', md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) "
                f'FROM "{t}" x'
                for t in tables
            )
            return {r[0]: r[1] for r in await conn.fetch(query)}
        finally:
            if own:
                await conn.close()


def _uncapped_program(directory: Path) -> Path:
    """The default program with in-app answers about no order capped as high as it goes: the
    injection test sends dozens of answers as one member, each of which must be judged on its
    text, not refused for the day's count (tests/feedback/test_answer_caps.py tests the cap)."""
    text = default_program_path().read_text("utf-8")
    capped = "answers_without_order_per_day = 3"
    assert capped in text
    path = directory / "program.toml"
    path.write_text(text.replace(capped, "answers_without_order_per_day = 100"), "utf-8")
    return path


def _apps(
    database: Callable[[str], str], bootstrap: dict[str, str], program: Path
) -> dict[str, FastAPI]:
    def common(name: str) -> dict[str, Any]:
        return {
            "kafka_bootstrap": bootstrap[name],
            "jwt_secret": SECRET,
            "kafka_session_timeout_ms": 6000,
        }

    return {
        "points": create_points_app(
            PointsSettings(points_database_url=database("points"), **common("points"))
        ),
        "tiers": create_tiers_app(
            TiersSettings(tiers_database_url=database("tiers"), **common("tiers"))
        ),
        "notifications": create_notifications_app(
            NotificationsSettings(
                notifications_database_url=database("notifications"),
                # nothing is sent in these tests: no member is ever enrolled
                notifications_smtp_port=free_port(),
                **common("notifications"),
            )
        ),
        "feedback": create_feedback_app(
            FeedbackSettings(
                feedback_database_url=database("feedback"),
                feedback_jobs_interval_s=NEVER_S,
                feedback_insight_interval_s=NEVER_S,
                program_file=program,
                **common("feedback"),
            )
        ),
    }


@pytest.fixture(scope="package")
async def running_services(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, RunningService]]:
    # a broker each: what one service emits (a tier override's tier.changed) must not become
    # another's work (a congratulation) in the middle of a test that watches its database
    brokers = {name: LocalBroker(free_port()) for name in SERVICES}
    database = Databases(postgres_server, prefix="sec_")
    try:
        for broker in brokers.values():
            broker.start()
            await create_topics(broker.bootstrap, partitions=PARTITIONS)
        apps = _apps(
            database,
            {name: b.bootstrap for name, b in brokers.items()},
            _uncapped_program(tmp_path_factory.mktemp("program")),
        )
        async with AsyncExitStack() as stack:
            services = {}
            for name, app in apps.items():
                await stack.enter_async_context(running(app))
                api = await stack.enter_async_context(client_of(app))
                dsn = runtime_of(app).settings.database_url
                services[name] = RunningService(name, app, api, dsn)
            yield services
    finally:
        for broker in brokers.values():
            broker.stop()
        await database.drop()


@pytest.fixture(params=SERVICES)
def service(
    request: pytest.FixtureRequest, running_services: dict[str, RunningService]
) -> RunningService:
    return running_services[request.param]
