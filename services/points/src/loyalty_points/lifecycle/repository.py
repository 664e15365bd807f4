"""Set-based SQL of the points' life after earning: maturing, expiring, warning of expiry.

Each statement picks due lots with `FOR UPDATE SKIP LOCKED` and changes their state in the same
statement, so two replicas running the jobs at once never handle a lot twice.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from loyalty_shared.db import Connection


async def mature_due(conn: Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        WITH due AS (
            SELECT id FROM points_lot
            WHERE status = 'pending' AND available_at <= $1
            ORDER BY available_at, id LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), lots AS (
            UPDATE points_lot l SET status = 'available' FROM due WHERE l.id = due.id
            RETURNING l.id, l.member_id, l.order_id, l.remaining, l.available_at
        ), entries AS (
            INSERT INTO ledger_entry (member_id, kind, available_delta, pending_delta, order_id,
                                      lot_id, actor, occurred_at)
            SELECT member_id, 'mature', remaining, -remaining, order_id, id,
                   'system:maturation', available_at
            FROM lots WHERE remaining > 0 ORDER BY id
        ), accounts AS (
            UPDATE points_account a
               SET available = a.available + s.points, pending = a.pending - s.points,
                   updated_at = now()
              FROM (SELECT member_id, sum(remaining) AS points FROM lots GROUP BY member_id) s
             WHERE a.member_id = s.member_id
        )
        SELECT id, member_id, order_id, remaining AS points, available_at AS at
        FROM lots WHERE remaining > 0
        """,
        now,
        limit,
    )
    return rows


async def expire_due(conn: Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        WITH due AS (
            SELECT id, remaining FROM points_lot
            WHERE status = 'available' AND remaining > 0 AND expires_at <= $1
            ORDER BY expires_at, id LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), lots AS (
            UPDATE points_lot l SET remaining = 0 FROM due WHERE l.id = due.id
            RETURNING l.id, l.member_id, l.order_id, due.remaining AS points, l.expires_at
        ), entries AS (
            INSERT INTO ledger_entry (member_id, kind, available_delta, order_id, lot_id, actor,
                                      occurred_at)
            SELECT member_id, 'expire', -points, order_id, id, 'system:expiry', expires_at
            FROM lots ORDER BY id
        ), accounts AS (
            UPDATE points_account a
               SET available = a.available - s.points, updated_at = now()
              FROM (SELECT member_id, sum(points) AS points FROM lots GROUP BY member_id) s
             WHERE a.member_id = s.member_id
        )
        SELECT id, member_id, order_id, points, expires_at AS at FROM lots
        """,
        now,
        limit,
    )
    return rows


async def warn_expiring(
    conn: Connection, *, now: datetime, horizon: datetime, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        WITH due AS (
            SELECT id FROM points_lot
            WHERE remaining > 0 AND expiry_notice_at IS NULL
              AND expires_at > $1 AND expires_at <= $2
            ORDER BY expires_at, id LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE points_lot l SET expiry_notice_at = $1 FROM due WHERE l.id = due.id
        RETURNING l.id, l.member_id, l.remaining AS points, l.expires_at AS at
        """,
        now,
        horizon,
        limit,
    )
    return rows
