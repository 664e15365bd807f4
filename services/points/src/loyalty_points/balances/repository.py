"""Reading a member's balance and the expiry of their unspent points."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from loyalty_shared.db import Connection


async def balance(conn: Connection, member_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT available, pending, lifetime_earned, held FROM points_account WHERE member_id = $1",
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


async def balance_as_of(conn: Connection, member_id: str, as_of: datetime) -> asyncpg.Record:
    """The balances as the platform showed them at `as_of`: the ledger as recorded by then."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT coalesce(sum(available_delta), 0)::bigint AS available,
               coalesce(sum(pending_delta), 0)::bigint AS pending,
               coalesce(sum(lifetime_delta), 0)::bigint AS lifetime_earned,
               coalesce(sum(held_delta), 0)::bigint AS held
        FROM ledger_entry WHERE member_id = $1 AND recorded_at <= $2
        """,
        member_id,
        as_of,
    )
    assert row is not None
    return row
