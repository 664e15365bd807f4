"""Each of the four services running in-process against the real broker and PostgreSQL, one per
test (`service` is parametrized over them), with its client and its database to look into."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.feedback.conftest import feedback_app, feedback_settings
from tests.notifications.conftest import (
    clock,
    cs_webhook,
    mail_server,
    notifications_app,
    notifications_settings,
)
from tests.support.apps import client_of

__all__ = [
    "clock",
    "cs_webhook",
    "feedback_app",
    "feedback_settings",
    "mail_server",
    "notifications_app",
    "notifications_settings",
]

SERVICES = ["points", "tiers", "notifications", "feedback"]

#: Tables that change by themselves while a service runs (the relay empties the outbox, the
#: consumer records what it applied, dbmate its versions): not state a request could change.
MOVING_TABLES = {"outbox", "processed_event", "schema_migrations"}


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


@pytest.fixture(params=SERVICES)
def service_app(request: pytest.FixtureRequest) -> tuple[str, FastAPI]:
    name: str = request.param
    app: FastAPI = request.getfixturevalue(f"{name}_app")
    return name, app


@pytest.fixture
async def service(service_app: tuple[str, FastAPI]) -> AsyncIterator[RunningService]:
    name, app = service_app
    async with client_of(app) as api:
        yield RunningService(name, app, api, app.state.settings.database_url)
