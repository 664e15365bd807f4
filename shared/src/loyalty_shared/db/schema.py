"""Whether the database schema has caught up with the code: every migration the service ships
(the shared ones and its own) recorded by dbmate in `schema_migrations`. A service that does not
migrate itself (Kubernetes: the migration Job does) waits for that before it consumes or serves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from loyalty_shared.db.errors import is_transient
from loyalty_shared.db.migrations import PLUMBING
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)


def shipped_migrations(migrations_dir: Path) -> dict[str, str]:
    """Every migration the service ships, version to name (`20261205120001_member_actions`)."""
    files = sorted([*PLUMBING.glob("*.sql"), *migrations_dir.glob("*.sql")], key=lambda p: p.name)
    return {path.stem.split("_", 1)[0]: path.stem for path in files}


class SchemaGate:
    """Closed until the schema holds every shipped migration; `behind` says why (for /readyz)."""

    def __init__(self, pool: asyncpg.Pool, shipped: dict[str, str], *, interval_s: float) -> None:
        self._pool = pool
        self._shipped = shipped
        self._interval_s = interval_s
        #: None once open: the schema is current and the service consumes and serves.
        self.behind: str | None = "starting"
        #: Set when starting the service after the wait failed: liveness fails, the pod restarts.
        self.failed: str | None = None

    async def missing(self) -> list[str]:
        """The shipped migrations the database has not applied, oldest first."""
        async with self._pool.acquire() as conn:
            try:
                rows = await conn.fetch("SELECT version FROM schema_migrations")
            except asyncpg.UndefinedTableError:  # not migrated at all yet
                return list(self._shipped.values())
        applied = {row["version"] for row in rows}
        return [name for version, name in self._shipped.items() if version not in applied]

    async def check(self) -> bool:
        """True if the schema is current; otherwise `behind` names the first missing migration."""
        missing = await self.missing()
        if missing:
            reason = f"schema behind: waiting for migration {missing[0]}"
            if reason != self.behind:
                log.warning(reason, missing=missing)
            self.behind = reason
        return not missing

    def open(self) -> None:
        self.behind = None

    async def open_when_current(self, start: Callable[[], Awaitable[None]]) -> None:
        """Check every `interval_s` until the schema is current, then `start` and open."""
        while True:
            try:
                if await self.check():
                    break
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("schema check failed", error=repr(exc))
                self.behind = f"schema unknown: {type(exc).__name__}: {exc}"[:300]
            await asyncio.sleep(self._interval_s)
        log.info("schema current: starting")
        try:
            await start()
        except Exception as exc:
            log.exception("service failed to start", error=repr(exc))
            self.failed = f"{type(exc).__name__}: {exc}"[:300]
            return
        self.open()
