"""The asyncpg pool: opened in the app's lifespan, never at import time."""

from __future__ import annotations

import asyncpg
import orjson

from loyalty_shared.db import Connection
from loyalty_shared.settings import ServiceSettings


async def _init_connection(conn: Connection) -> None:
    # jsonb columns come back as Python values, encoded with orjson.
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def create_pool(dsn: str, settings: ServiceSettings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.db_statement_cache_size,
        command_timeout=settings.db_command_timeout_s,
        init=_init_connection,
        # No startup parameters: pgbouncer refuses those it does not know. `plan_cache_mode =
        # force_custom_plan` (a generic plan cached while a table was empty can be ruinous once
        # it is full) is the database's own default, set by a shared migration.
    )
    assert pool is not None
    return pool
