"""SQL of checkout holds."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from loyalty_shared.db import Connection

_COLUMNS = (
    "id, member_id, points, reference, status, expires_at, created_at, settled_at, "
    "redemption_id, request_hash"
)


async def by_key(conn: Connection, member_id: str, key: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM points_hold WHERE member_id = $1 AND idempotency_key = $2",
        member_id,
        key,
    )
    return row


async def by_id(
    conn: Connection, member_id: str, hold_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM points_hold WHERE member_id = $1 AND id = $2{lock}",
        member_id,
        hold_id,
    )
    return row


async def insert(
    conn: Connection,
    *,
    hold_id: UUID,
    member_id: str,
    key: str,
    request_hash: str,
    points: int,
    reference: str | None,
    ttl_seconds: int,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""
        INSERT INTO points_hold (id, member_id, idempotency_key, request_hash, points, reference,
                                 status, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, 'active', now() + make_interval(secs => $7))
        RETURNING {_COLUMNS}
        """,
        hold_id,
        member_id,
        key,
        request_hash,
        points,
        reference,
        float(ttl_seconds),
    )
    assert row is not None
    return row


async def settle(
    conn: Connection,
    hold_id: UUID,
    *,
    status: str,
    actor: str,
    redemption_id: UUID | None = None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""
        UPDATE points_hold
           SET status = $2, settled_at = now(), settled_by = $3, redemption_id = $4
         WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        hold_id,
        status,
        actor,
        redemption_id,
    )
    assert row is not None
    return row


async def hold_entry(conn: Connection, hold_id: UUID) -> int:
    entry_id: int = await conn.fetchval(
        "SELECT id FROM ledger_entry WHERE hold_id = $1 AND kind = 'hold'", hold_id
    )
    return entry_id


async def due(conn: Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT id, member_id FROM points_hold
        WHERE status = 'active' AND expires_at <= $1
        ORDER BY member_id, id LIMIT $2  -- one lock order for every replica: no deadlock
        """,
        now,
        limit,
    )
    return rows
