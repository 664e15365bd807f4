"""Reading the ledger, newest first, by keyset (the entry id)."""

from __future__ import annotations

import asyncpg

from loyalty_shared.db import Connection


async def page(
    conn: Connection, member_id: str, *, before_id: int | None, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT id, kind, available_delta, pending_delta, held_delta, cause_event_id, order_id,
               redemption_id, hold_id, actor, occurred_at, recorded_at, details
        FROM ledger_entry
        WHERE member_id = $1 AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC
        LIMIT $3
        """,
        member_id,
        before_id,
        limit,
    )
    return rows
