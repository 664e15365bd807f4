"""Reading a member's balance and the expiry of their unspent points."""

from __future__ import annotations

import asyncpg

from loyalty_shared.db import Connection


async def balance(conn: Connection, member_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT available, pending, lifetime_earned FROM points_account WHERE member_id = $1",
        member_id,
    )
    return row


async def expiring(conn: Connection, member_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT sum(remaining)::bigint AS points, expires_at
        FROM points_lot
        WHERE member_id = $1 AND remaining > 0 AND expires_at > now()
        GROUP BY expires_at
        ORDER BY expires_at
        """,
        member_id,
    )
    return rows
