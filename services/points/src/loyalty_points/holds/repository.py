"""SQL of checkout holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

from loyalty_shared.db import Connection

_COLUMNS = (
    "id, member_id, points, reference, status, expires_at, created_at, settled_at, "
    "redemption_id, request_hash"
)
HoldStatus = Literal["active", "committed", "released", "expired"]


@dataclass(frozen=True, slots=True)
class HoldRow:
    id: UUID
    member_id: str
    points: int
    reference: str | None
    status: HoldStatus
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    redemption_id: UUID | None
    request_hash: str


def _row(record: asyncpg.Record | None) -> HoldRow | None:
    return HoldRow(**dict(record)) if record is not None else None


async def by_key(conn: Connection, member_id: str, key: str) -> HoldRow | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM points_hold WHERE member_id = $1 AND idempotency_key = $2",
            member_id,
            key,
        )
    )


async def by_id(
    conn: Connection, member_id: str, hold_id: UUID, *, for_update: bool = False
) -> HoldRow | None:
    lock = " FOR UPDATE" if for_update else ""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM points_hold WHERE member_id = $1 AND id = $2{lock}",
            member_id,
            hold_id,
        )
    )


async def insert(
    conn: Connection,
    *,
    hold_id: UUID,
    member_id: str,
    key: str,
    request_hash: str,
    points: int,
    reference: str | None,
    expires_at: datetime,
    now: datetime,
) -> HoldRow:
    row = _row(
        await conn.fetchrow(
            f"""
            INSERT INTO points_hold (id, member_id, idempotency_key, request_hash, points,
                                     reference, status, expires_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)
            RETURNING {_COLUMNS}
            """,
            hold_id,
            member_id,
            key,
            request_hash,
            points,
            reference,
            expires_at,
            now,
        )
    )
    assert row is not None
    return row


async def settle(
    conn: Connection,
    hold_id: UUID,
    *,
    status: HoldStatus,
    actor: str,
    at: datetime,
    redemption_id: UUID | None = None,
) -> HoldRow:
    row = _row(
        await conn.fetchrow(
            f"""
            UPDATE points_hold
               SET status = $2, settled_at = $5, settled_by = $3, redemption_id = $4
             WHERE id = $1
            RETURNING {_COLUMNS}
            """,
            hold_id,
            status,
            actor,
            redemption_id,
            at,
        )
    )
    assert row is not None
    return row


async def hold_entry(conn: Connection, hold_id: UUID) -> int:
    entry_id: int = await conn.fetchval(
        "SELECT id FROM ledger_entry WHERE hold_id = $1 AND kind = 'hold'", hold_id
    )
    return entry_id
