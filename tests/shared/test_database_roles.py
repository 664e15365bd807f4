"""The pods connect as the service's own role, which reads and writes the data but does not own
the schema; the migration Job migrates as the owner and then grants that role what it needs
(LOYALTY_DB_APP_ROLE), including on the tables a later migration adds."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from pydantic import ValidationError

from loyalty_shared.db.migrations import MigrationError, migrate
from loyalty_shared.settings import ServiceSettings
from tests.support.tokens import SECRET


@dataclass(frozen=True)
class Roles:
    owner: str
    app: str
    owner_dsn: str
    app_dsn: str


def _as(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))


@pytest.fixture
async def roles(postgres_server: str, new_database: Callable[[str], str]) -> AsyncIterator[Roles]:
    """A database owned by a role of its own (as CloudNativePG's initdb makes it) and a login
    role for the app that is nothing more: no superuser, not a member of the owner."""
    suffix = uuid.uuid4().hex[:10]
    owner, app = f"owner_{suffix}", f"app_{suffix}"
    dsn = new_database("roles")
    database = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute(f"CREATE ROLE {owner} LOGIN")
        await admin.execute(f"CREATE ROLE {app} LOGIN")
        await admin.execute(f'CREATE DATABASE "{database}" OWNER {owner}')
        yield Roles(owner, app, _as(dsn, owner), _as(dsn, app))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f"DROP ROLE IF EXISTS {app}")
        await admin.execute(f"DROP ROLE IF EXISTS {owner}")
        await admin.close()


def _migrate_command(service: str, dsn: str, app_role: str) -> subprocess.CompletedProcess[str]:
    """`loyalty-<service> migrate` as the migration Job runs it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")},
        f"LOYALTY_{service.upper()}_DATABASE_URL": dsn,
        "LOYALTY_DB_APP_ROLE": app_role,
        "LOYALTY_JWT_SECRET": SECRET,
    }
    command = [str(Path(sys.executable).with_name(f"loyalty-{service}")), "migrate"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


async def test_the_app_role_reads_and_writes_every_table_but_cannot_alter_or_drop_them(
    roles: Roles,
) -> None:
    result = _migrate_command("tiers", roles.owner_dsn, roles.app)
    assert result.returncode == 0, result.stdout + result.stderr
    conn = await asyncpg.connect(roles.app_dsn)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        assert {"outbox", "processed_event", "audit_log"} <= set(tables)
        for table in tables:
            owner = await conn.fetchval(
                "SELECT tableowner FROM pg_tables WHERE tablename = $1", table
            )
            assert owner == roles.owner, table
            held = {
                privilege
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
                if await conn.fetchval(
                    "SELECT has_table_privilege($1, $2, $3)", roles.app, table, privilege
                )
            }
            if table == "schema_migrations":
                assert held == {"SELECT"}, "the versions are the migration Job's to write"
            else:
                assert held == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO processed_event (consumer, event_id) VALUES ('tiers', 'e-1')"
            )
            await conn.execute(
                "UPDATE processed_event SET consumer = 'tiers' WHERE event_id = 'e-1'"
            )
            assert await conn.fetchval("DELETE FROM processed_event RETURNING event_id") == "e-1"
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
        for statement in (
            "ALTER TABLE processed_event ADD COLUMN sneaky text",
            "DROP TABLE outbox",
            "ALTER TABLE audit_log DISABLE TRIGGER ALL",
            "CREATE TABLE mine (id int)",
            "INSERT INTO schema_migrations (version) VALUES ('29990101000000')",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_table_a_later_migration_adds_is_the_app_role_s_to_use_after_the_grant_step(
    roles: Roles, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    await migrate(roles.owner_dsn, migrations, app_role=roles.app)
    (migrations / "20990101000000_widgets.sql").write_text(
        "-- migrate:up\n"
        "CREATE TABLE widget (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);\n"
        "-- migrate:down\nDROP TABLE widget;\n",
        encoding="utf-8",
    )
    await migrate(roles.owner_dsn, migrations, app_role=roles.app)
    conn = await asyncpg.connect(roles.app_dsn)
    try:
        assert await conn.fetchval("INSERT INTO widget (name) VALUES ('w') RETURNING id") == 1
        assert await conn.fetchval("SELECT name FROM widget") == "w"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DROP TABLE widget")
    finally:
        await conn.close()


async def test_a_table_the_owner_creates_by_hand_is_the_app_role_s_to_use_too(
    roles: Roles, tmp_path: Path
) -> None:
    """Default privileges: what the owner creates between two migrations is not left out."""
    (tmp_path / "migrations").mkdir()
    await migrate(roles.owner_dsn, tmp_path / "migrations", app_role=roles.app)
    owner = await asyncpg.connect(roles.owner_dsn)
    try:
        await owner.execute("CREATE TABLE by_hand (id bigserial PRIMARY KEY, note text)")
    finally:
        await owner.close()
    conn = await asyncpg.connect(roles.app_dsn)
    try:
        assert await conn.fetchval("INSERT INTO by_hand (note) VALUES ('n') RETURNING id") == 1
    finally:
        await conn.close()


async def test_the_owner_or_a_missing_role_as_the_app_role_is_refused(
    roles: Roles, tmp_path: Path
) -> None:
    (tmp_path / "migrations").mkdir()
    with pytest.raises(MigrationError, match="could alter and drop the tables"):
        await migrate(roles.owner_dsn, tmp_path / "migrations", app_role=roles.owner)
    with pytest.raises(MigrationError, match="does not exist"):
        await migrate(roles.owner_dsn, tmp_path / "migrations", app_role="nobody_at_all")


@pytest.mark.parametrize("name", ['app"; DROP TABLE outbox; --', "App", "", "a" * 64])
def test_an_app_role_that_is_no_plain_role_name_is_refused_at_start(name: str) -> None:
    with pytest.raises(ValidationError, match="db_app_role"):
        ServiceSettings(jwt_secret=SECRET, db_app_role=name)
