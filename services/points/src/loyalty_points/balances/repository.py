"""Reading a member's balance and the expiry of their available points: now, at a past business
time (`as_of`), or as the ledger had recorded it by a time (`as_recorded_at`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from loyalty_points.ledger.repository import lock_accounts
from loyalty_points.ledger.settlement import DUE_POINTS, settle
from loyalty_shared.db import Connection, Pool


@dataclass(frozen=True, slots=True)
class Balance:
    available: int
    pending: int
    lifetime_earned: int
    held: int
    #: [{"points", "expires_at"}], soonest first: the available points by their expiry
    expiring: list[dict[str, Any]]


_NOW = f"""
    SELECT coalesce(a.available, 0) AS available, coalesce(a.pending, 0) AS pending,
           coalesce(a.lifetime_earned, 0) AS lifetime_earned, coalesce(a.held, 0) AS held,
           coalesce((
               SELECT jsonb_agg(jsonb_build_object('points', e.points, 'expires_at', e.expires_at)
                                ORDER BY e.expires_at)
               FROM (SELECT sum(remaining)::bigint AS points, expires_at
                     FROM points_lot
                     WHERE member_id = $1 AND remaining > 0 AND status = 'available'
                       AND expires_at > $2
                     GROUP BY expires_at) e
           ), '[]'::jsonb) AS expiring,
           ({DUE_POINTS}) AS due
    FROM (SELECT $1::text AS member_id) m
    LEFT JOIN points_account a USING (member_id)
"""


def _balance(row: asyncpg.Record | None) -> Balance:
    assert row is not None
    return Balance(
        available=row["available"],
        pending=row["pending"],
        lifetime_earned=row["lifetime_earned"],
        held=row["held"],
        expiring=row["expiring"],
    )


async def balance(pool: Pool, member_id: str, now: datetime) -> Balance:
    """The balance time says at `now`: one statement when nothing has come due since the member's
    points last moved (nearly always); otherwise what is due is settled first, in a transaction,
    exactly as the scheduled job would have, and read in it."""
    row = await pool.fetchrow(_NOW, member_id, now)
    if row is None or not row["due"]:
        return _balance(row)
    async with pool.acquire() as conn, conn.transaction():
        await lock_accounts(conn, [member_id])
        await settle(conn, [member_id], now)
        return _balance(await conn.fetchrow(_NOW, member_id, now))


async def balance_at(conn: Connection, member_id: str, at: datetime) -> Balance:
    """The balance at business time `at`: every entry by the time it took effect (a purchase at
    its time, maturity when its window ended, expiry when it came, a spend when it was made), and
    what each lot held then. The caller settled the member to now first."""
    row = await conn.fetchrow(
        """
        WITH totals AS (
            SELECT coalesce(sum(available_delta), 0)::bigint AS available,
                   coalesce(sum(pending_delta), 0)::bigint AS pending,
                   coalesce(sum(lifetime_delta), 0)::bigint AS lifetime_earned,
                   coalesce(sum(held_delta), 0)::bigint AS held
            FROM ledger_entry WHERE member_id = $1 AND occurred_at <= $2
        ), lots AS (
            SELECT l.expires_at,
                   l.points - coalesce((
                       SELECT sum(a.points) FROM lot_allocation a
                       JOIN ledger_entry e ON e.id = a.ledger_entry_id
                       WHERE a.lot_id = l.id AND e.occurred_at <= $2
                   ), 0) AS points
            FROM points_lot l
            WHERE l.member_id = $1 AND l.earned_at <= $2 AND l.available_at <= $2
              AND l.expires_at > $2 AND NOT l.under_review
        )
        SELECT totals.*,
               CASE WHEN totals.available <= 0 THEN '[]'::jsonb ELSE coalesce((
                   SELECT jsonb_agg(jsonb_build_object('points', e.points,
                                                       'expires_at', e.expires_at)
                                    ORDER BY e.expires_at)
                   FROM (SELECT sum(points)::bigint AS points, expires_at FROM lots
                         WHERE points > 0 GROUP BY expires_at) e
               ), '[]'::jsonb) END AS expiring
        FROM totals
        """,
        member_id,
        at,
    )
    return _balance(row)


async def balance_recorded_by(conn: Connection, member_id: str, at: datetime) -> Balance:
    """The balances as the ledger had recorded them by `at` (what the platform showed then)."""
    row = await conn.fetchrow(
        """
        SELECT coalesce(sum(available_delta), 0)::bigint AS available,
               coalesce(sum(pending_delta), 0)::bigint AS pending,
               coalesce(sum(lifetime_delta), 0)::bigint AS lifetime_earned,
               coalesce(sum(held_delta), 0)::bigint AS held,
               '[]'::jsonb AS expiring
        FROM ledger_entry WHERE member_id = $1 AND recorded_at <= $2
        """,
        member_id,
        at,
    )
    return _balance(row)
