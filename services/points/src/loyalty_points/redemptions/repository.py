"""SQL of redemptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

from loyalty_shared.db import Connection

_COLUMNS = "id, member_id, points, reward, status, created_at, cancelled_at, request_hash"


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    id: UUID
    member_id: str
    points: int
    reward: str | None
    status: Literal["completed", "cancelled"]
    created_at: datetime
    cancelled_at: datetime | None
    request_hash: str


def _row(record: asyncpg.Record | None) -> RedemptionRow | None:
    return RedemptionRow(**dict(record)) if record is not None else None


async def by_key(conn: Connection, member_id: str, key: str) -> RedemptionRow | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM redemption WHERE member_id = $1 AND idempotency_key = $2",
            member_id,
            key,
        )
    )


async def by_id(conn: Connection, member_id: str, redemption_id: UUID) -> RedemptionRow | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM redemption WHERE member_id = $1 AND id = $2 FOR UPDATE",
            member_id,
            redemption_id,
        )
    )


async def insert(
    conn: Connection,
    *,
    redemption_id: UUID,
    member_id: str,
    key: str,
    request_hash: str,
    points: int,
    reward: str | None,
    now: datetime,
) -> RedemptionRow:
    row = _row(
        await conn.fetchrow(
            f"""
            INSERT INTO redemption (id, member_id, idempotency_key, request_hash, points, reward,
                                    status, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'completed', $7)
            RETURNING {_COLUMNS}
            """,
            redemption_id,
            member_id,
            key,
            request_hash,
            points,
            reward,
            now,
        )
    )
    assert row is not None
    return row


async def mark_cancelled(
    conn: Connection, redemption_id: UUID, actor: str, now: datetime
) -> RedemptionRow:
    row = _row(
        await conn.fetchrow(
            f"""
            UPDATE redemption SET status = 'cancelled', cancelled_at = $3, cancelled_by = $2
            WHERE id = $1
            RETURNING {_COLUMNS}
            """,
            redemption_id,
            actor,
            now,
        )
    )
    assert row is not None
    return row


async def spending_entries(conn: Connection, redemption_id: UUID) -> list[int]:
    """The ledger entries that took the redemption's points from their lots: its own, or the
    hold's it was committed from."""
    rows = await conn.fetch(
        """
        SELECT coalesce(h.id, r.id) AS id
        FROM ledger_entry r
        LEFT JOIN ledger_entry h ON h.hold_id = r.hold_id AND h.kind = 'hold'
        WHERE r.redemption_id = $1 AND r.kind = 'redeem'
        """,
        redemption_id,
    )
    return [row["id"] for row in rows]
