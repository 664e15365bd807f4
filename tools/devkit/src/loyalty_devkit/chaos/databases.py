"""The run's own look into the services' databases, while PostgreSQL may be restarting."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg

from loyalty_devkit.chaos.cluster import Cluster

#: what a query may raise while PostgreSQL restarts (the poll is tried again)
DB_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


async def fetch(cluster: Cluster, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """One query on a connection of its own (a pool would hold connections PostgreSQL drops)."""
    conn = await asyncpg.connect(cluster.database_url(service), timeout=5)
    try:
        return list(await conn.fetch(sql, *args, timeout=30))
    finally:
        with contextlib.suppress(*DB_ERRORS):
            await conn.close(timeout=5)
