"""`loyalty-<service> migrate` is what the Kubernetes migration Job runs: it migrates the
service's database and exits, safely twice; a service started with LOYALTY_MIGRATE_AT_START=false
leaves the schema alone (and waits for the Job); no session sends a startup parameter (pgbouncer
refuses those it does not know), and sessions plan as PostgreSQL does by default (the relay
forces fresh plans in its own transactions only)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.db.migrations import PLUMBING
from loyalty_shared.db.pool import create_pool
from loyalty_tiers.app import create_app as create_tiers_app
from loyalty_tiers.settings import TiersSettings
from tests.support.apps import serving
from tests.support.tokens import SECRET

REPO = Path(__file__).resolve().parents[2]
SERVICES = ["points", "tiers", "notifications", "feedback"]


def _migrate(service: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")},
        f"LOYALTY_{service.upper()}_DATABASE_URL": dsn,
        "LOYALTY_JWT_SECRET": SECRET,
    }
    command = [str(Path(sys.executable).with_name(f"loyalty-{service}")), "migrate"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _migration_files(service: str) -> int:
    own = REPO / f"services/{service}/src/loyalty_{service}/migrations"
    return len([*PLUMBING.glob("*.sql"), *own.glob("*.sql")])


@pytest.mark.parametrize("service", SERVICES)
async def test_the_migrate_command_migrates_and_exits_and_is_safe_twice(
    service: str, new_database: Callable[[str], str]
) -> None:
    dsn = new_database(service)
    first = _migrate(service, dsn)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "migrations applied" in first.stdout
    second = _migrate(service, dsn)
    assert second.returncode == 0, second.stdout + second.stderr

    conn = await asyncpg.connect(dsn)
    try:
        versions = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    finally:
        await conn.close()
    assert versions == _migration_files(service), "each once, the second run applied nothing"
    assert {"processed_event", "outbox"} <= tables


async def test_a_failing_migration_exits_with_status_1() -> None:
    # nobody listens on port 1: dbmate cannot reach the database
    result = _migrate("tiers", "postgresql://nobody@127.0.0.1:1/nowhere?connect_timeout=1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


async def test_sessions_plan_as_postgresql_does_by_default_without_a_startup_parameter(
    new_database: Callable[[str], str],
) -> None:
    dsn = new_database("tiers")
    assert _migrate("tiers", dsn).returncode == 0
    settings = TiersSettings(tiers_database_url=dsn, jwt_secret=SECRET)
    pool = await create_pool(dsn, settings)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
    finally:
        await pool.close()


async def test_a_service_told_not_to_migrate_leaves_the_schema_alone(
    new_database: Callable[[str], str], broker: LocalBroker
) -> None:
    dsn = new_database("tiers")
    assert _migrate("tiers", dsn).returncode == 0
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM schema_migrations WHERE version LIKE '20261124000000%'")
        await conn.execute(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET plan_cache_mode', "
            "current_database()); END $$"
        )
    finally:
        await conn.close()
    settings = TiersSettings(
        tiers_database_url=dsn,
        kafka_bootstrap=broker.bootstrap,
        jwt_secret=SECRET,
        migrate_at_start=False,
    )
    async with serving(create_tiers_app(settings)) as api:
        ready = await api.get("/readyz")
        assert ready.status_code == 503, "it waits for the Job (tests/platform/test_schema_behind)"
        assert "waiting for migration 20261124000000_plan_cache_mode" in ready.text
    conn = await asyncpg.connect(dsn)
    try:
        assert not await conn.fetchval(
            "SELECT count(*) FROM schema_migrations WHERE version LIKE '20261124000000%'"
        ), "the pending migration was left for the Job"
    finally:
        await conn.close()
