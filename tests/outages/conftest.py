"""What the outage scenarios need beyond the suite's servers: a PostgreSQL of their own that a
test may stop and start (the session's server is shared by every test), and the notifications
service's mail server, webhook receiver and clock."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty_devkit.local_postgres import LocalPostgres
from tests.feedback.conftest import feedback_app, feedback_settings
from tests.notifications.conftest import (
    clock,
    cs_webhook,
    mail_server,
    notifications_app,
    notifications_settings,
)

__all__ = [
    "clock",
    "cs_webhook",
    "feedback_app",
    "feedback_settings",
    "mail_server",
    "notifications_app",
    "notifications_settings",
]


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """An embedded PostgreSQL for this test alone, so stopping it harms no other test."""
    if os.environ.get("LOYALTY_TEST_DATABASE_URL"):
        pytest.skip(
            "LOYALTY_TEST_DATABASE_URL names an external server: the test cannot stop and start "
            "it, and it must not stop a server others use (run without it to use the embedded one)"
        )
    server = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-outage-pg-")) / "data")
    server.start()
    try:
        yield server
    finally:
        server.remove()


def database_on(server: LocalPostgres, prefix: str) -> str:
    """A database URL on `server` (created by the service's migrations at start)."""
    return server.dsn(f"{prefix}_{uuid.uuid4().hex[:10]}")
