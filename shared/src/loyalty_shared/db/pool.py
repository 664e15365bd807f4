"""The asyncpg pool: opened in the app's lifespan, never at import time."""

from __future__ import annotations

import asyncpg
import orjson

from loyalty_shared.db import Connection
from loyalty_shared.settings import ServiceSettings

#: The first byte of jsonb in PostgreSQL's binary format: the format's version, then JSON text.
_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: object) -> bytes:
    return _JSONB_VERSION + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> object:
    return orjson.loads(memoryview(data)[1:])


async def _init_connection(conn: Connection) -> None:
    # jsonb columns come back as Python values, encoded with orjson, in the binary format: the
    # text format cost asyncpg twice the CPU per value (docs/speed.md).
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )


async def _keep_session(conn: Connection) -> None:
    """What a connection needs when it goes back to the pool, beyond the rollback of an open
    transaction that asyncpg always does: nothing. No code here leaves session state behind
    (settings are `SET LOCAL`, advisory locks transaction-scoped, no LISTEN, no cursors outside
    a transaction), so asyncpg's default reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`) was one more round trip for every request and every batch. Behind pgbouncer in
    transaction mode a session reset would not even reach the same server connection."""


async def connect(dsn: str) -> Connection:
    """One connection, its codecs as the pool's (for a tool outside a service: an import)."""
    conn: Connection = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def create_pool(dsn: str, settings: ServiceSettings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.db_statement_cache_size,
        command_timeout=settings.db_command_timeout_s,
        init=_init_connection,
        reset=_keep_session,
        # No startup parameters: pgbouncer refuses those it does not know. `plan_cache_mode =
        # force_custom_plan` (a generic plan cached while a table was empty can be ruinous once
        # it is full) is set where it is needed, in the relay's transaction (db/relay.py).
    )
    assert pool is not None
    return pool
