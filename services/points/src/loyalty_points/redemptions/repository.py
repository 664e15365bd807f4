"""SQL of redemptions."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from loyalty_shared.db import Connection

_COLUMNS = "id, member_id, points, reward, status, created_at, cancelled_at, request_hash"


async def by_key(conn: Connection, member_id: str, key: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM redemption WHERE member_id = $1 AND idempotency_key = $2",
        member_id,
        key,
    )
    return row


async def by_id(conn: Connection, member_id: str, redemption_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM redemption WHERE member_id = $1 AND id = $2 FOR UPDATE",
        member_id,
        redemption_id,
    )
    return row


async def insert(
    conn: Connection,
    *,
    redemption_id: UUID,
    member_id: str,
    key: str,
    request_hash: str,
    points: int,
    reward: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""
        INSERT INTO redemption (id, member_id, idempotency_key, request_hash, points, reward,
                                status)
        VALUES ($1, $2, $3, $4, $5, $6, 'completed')
        RETURNING {_COLUMNS}
        """,
        redemption_id,
        member_id,
        key,
        request_hash,
        points,
        reward,
    )
    assert row is not None
    return row


async def mark_cancelled(conn: Connection, redemption_id: UUID, actor: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""
        UPDATE redemption SET status = 'cancelled', cancelled_at = now(), cancelled_by = $2
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        redemption_id,
        actor,
    )
    assert row is not None
    return row


async def redeem_entry(conn: Connection, redemption_id: UUID) -> int:
    entry_id: int = await conn.fetchval(
        "SELECT id FROM ledger_entry WHERE redemption_id = $1 AND kind = 'redeem'", redemption_id
    )
    return entry_id


async def refusal(
    conn: Connection, *, kind: str, member_id: str, key: str
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT request_hash, detail FROM spend_refusal
        WHERE member_id = $1 AND kind = $2 AND idempotency_key = $3
        """,
        member_id,
        kind,
        key,
    )
    return row


async def record_refusal(
    conn: Connection, *, kind: str, member_id: str, key: str, request_hash: str, detail: str
) -> None:
    await conn.execute(
        """
        INSERT INTO spend_refusal (member_id, kind, idempotency_key, request_hash, detail)
        VALUES ($1, $2, $3, $4, $5)
        """,
        member_id,
        kind,
        key,
        request_hash,
        detail,
    )
