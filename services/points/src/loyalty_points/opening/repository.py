"""Opening balances brought over from another loyalty system, a batch of rows per statement:
each row not imported before claims its key in `opening_balance` and becomes an available lot
(origin 'opening') and an `opening` ledger entry, the balances moved by the same amounts, as
`ledger.grant` would do one at a time (the caller holds the members' accounts locked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from loyalty_points.ledger.repository import conform_lots
from loyalty_shared.db import Connection

ACTOR = "system:import"


@dataclass(frozen=True, slots=True)
class OpeningRow:
    source: str
    member_id: str
    row_key: str
    points: int
    expires_at: datetime


async def import_rows(conn: Connection, rows: Sequence[OpeningRow], now: datetime) -> int:
    """Import the rows whose key was never imported; returns how many were. One statement
    writes the claims, lots, entries and balances; members who were in debt then see their new
    lots repay it first (`conform_lots`), like any grant."""
    if not rows:
        return 0
    imported = await conn.fetch(
        """
        WITH input AS MATERIALIZED (
            SELECT t.*, nextval(pg_get_serial_sequence('points_lot', 'id')) AS lot_id
            FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[])
                 AS t(source, member_id, row_key, points, expires_at)
        ), claimed AS (
            INSERT INTO opening_balance (source, member_id, row_key, points, expires_at, lot_id,
                                         imported_at)
            SELECT source, member_id, row_key, points, expires_at, lot_id, $6 FROM input
            ON CONFLICT DO NOTHING
            RETURNING source, member_id, row_key, points, expires_at, lot_id
        ), lots AS (
            INSERT INTO points_lot (id, member_id, points, remaining, status, available_at,
                                    expires_at, origin, earned_at)
            SELECT lot_id, member_id, points, points, 'available', $6, expires_at, 'opening', $6
            FROM claimed
        ), entries AS (
            INSERT INTO ledger_entry (member_id, kind, available_delta, lifetime_delta, lot_id,
                                      actor, occurred_at, details)
            SELECT member_id, 'opening', points, points, lot_id, $7, $6,
                   jsonb_build_object('source', source, 'row', row_key)
            FROM claimed ORDER BY lot_id
            RETURNING id, member_id
        ), accounts AS (
            UPDATE points_account a
               SET available = a.available + c.points,
                   lifetime_earned = a.lifetime_earned + c.points, updated_at = now()
              FROM (SELECT member_id, sum(points) AS points FROM claimed GROUP BY member_id) c
             WHERE a.member_id = c.member_id
         RETURNING a.member_id, a.available - c.points AS before
        )
        SELECT e.member_id, max(e.id) AS entry_id, min(a.before) < 0 AS in_debt,
               count(*) AS entries
        FROM entries e JOIN accounts a USING (member_id)
        GROUP BY e.member_id
        """,
        [r.source for r in rows],
        [r.member_id for r in rows],
        [r.row_key for r in rows],
        [r.points for r in rows],
        [r.expires_at for r in rows],
        now,
        ACTOR,
    )
    for row in imported:
        if row["in_debt"]:
            await conform_lots(conn, row["member_id"], row["entry_id"])
    return sum(int(row["entries"]) for row in imported)
