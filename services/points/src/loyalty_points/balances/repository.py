"""Reading a member's balance and the expiry of their unspent points."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from loyalty_shared.db import Connection, Pool


async def balance(conn: Connection | Pool, member_id: str) -> asyncpg.Record:
    """Balances and unspent points by expiry, in one statement (one snapshot, one round trip);
    zeros for a member never seen."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT coalesce(a.available, 0) AS available, coalesce(a.pending, 0) AS pending,
               coalesce(a.lifetime_earned, 0) AS lifetime_earned, coalesce(a.held, 0) AS held,
               coalesce((
                   SELECT jsonb_agg(jsonb_build_object('points', e.points,
                                                       'expires_at', e.expires_at)
                                    ORDER BY e.expires_at)
                   FROM (SELECT sum(remaining)::bigint AS points, expires_at
                         FROM points_lot
                         WHERE member_id = $1 AND remaining > 0 AND expires_at > now()
                         GROUP BY expires_at) e
               ), '[]'::jsonb) AS expiring
        FROM (SELECT $1::text AS member_id) m
        LEFT JOIN points_account a USING (member_id)
        """,
        member_id,
    )
    assert row is not None
    return row


async def balance_as_of(conn: Connection | Pool, member_id: str, as_of: datetime) -> asyncpg.Record:
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
