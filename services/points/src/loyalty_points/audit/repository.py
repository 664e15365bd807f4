"""The audit's SQL: every balance recomputed from the ledger, the lots and the refunds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalty_shared.db import Connection

CHECKS: dict[str, str] = {
    "balance differs from the sum of its ledger": """
        SELECT coalesce(a.member_id, l.member_id) AS member_id,
               jsonb_build_object('available', a.available, 'pending', a.pending,
                                  'lifetime_earned', a.lifetime_earned, 'held', a.held)
                   AS recorded,
               jsonb_build_object('available', l.available, 'pending', l.pending,
                                  'lifetime_earned', l.lifetime, 'held', l.held) AS recomputed
        FROM points_account a
        FULL JOIN (
            SELECT member_id, sum(available_delta) AS available, sum(pending_delta) AS pending,
                   sum(lifetime_delta) AS lifetime, sum(held_delta) AS held
            FROM ledger_entry GROUP BY member_id
        ) l USING (member_id)
        WHERE (coalesce(a.available, 0), coalesce(a.pending, 0), coalesce(a.lifetime_earned, 0),
               coalesce(a.held, 0))
              IS DISTINCT FROM
              (coalesce(l.available, 0), coalesce(l.pending, 0), coalesce(l.lifetime, 0),
               coalesce(l.held, 0))
    """,
    "pending balance differs from its pending lots": """
        SELECT a.member_id,
               jsonb_build_object('pending', a.pending) AS recorded,
               jsonb_build_object('pending', coalesce(sum(l.remaining), 0)) AS recomputed
        FROM points_account a
        LEFT JOIN points_lot l ON l.member_id = a.member_id AND l.status = 'pending'
        GROUP BY a.member_id, a.pending
        HAVING a.pending <> coalesce(sum(l.remaining), 0)
    """,
    "available balance differs from its available lots": """
        SELECT a.member_id,
               jsonb_build_object('available', a.available) AS recorded,
               jsonb_build_object('lots', coalesce(sum(l.remaining), 0)) AS recomputed
        FROM points_account a
        LEFT JOIN points_lot l ON l.member_id = a.member_id AND l.status = 'available'
        GROUP BY a.member_id, a.available
        HAVING greatest(a.available, 0) <> coalesce(sum(l.remaining), 0)
    """,
    "lot differs from its allocations": """
        SELECT l.member_id,
               jsonb_build_object('lot_id', l.id, 'remaining', l.remaining) AS recorded,
               jsonb_build_object('points_less_allocations',
                                  l.points - coalesce(sum(a.points), 0)) AS recomputed
        FROM points_lot l LEFT JOIN lot_allocation a ON a.lot_id = l.id
        GROUP BY l.id
        HAVING l.remaining <> l.points - coalesce(sum(a.points), 0)
    """,
    "held balance differs from its active holds": """
        SELECT a.member_id,
               jsonb_build_object('held', a.held) AS recorded,
               jsonb_build_object('held', coalesce(sum(h.points), 0)) AS recomputed
        FROM points_account a
        LEFT JOIN points_hold h ON h.member_id = a.member_id AND h.status = 'active'
        GROUP BY a.member_id, a.held
        HAVING a.held <> coalesce(sum(h.points), 0)
    """,
    "lot without its purchase": """
        SELECT l.member_id,
               jsonb_build_object('lot_id', l.id, 'order_id', l.order_id) AS recorded,
               jsonb_build_object('purchase', NULL) AS recomputed
        FROM points_lot l LEFT JOIN purchase p USING (order_id)
        WHERE l.order_id IS NOT NULL AND p.order_id IS NULL
    """,
    "entry without its lot": """
        SELECT e.member_id,
               jsonb_build_object('entry_id', e.id, 'lot_id', e.lot_id) AS recorded,
               jsonb_build_object('lot', NULL) AS recomputed
        FROM ledger_entry e LEFT JOIN points_lot l ON l.id = e.lot_id
        WHERE e.lot_id IS NOT NULL AND l.id IS NULL
    """,
    "order reversals differ from its refunds": """
        SELECT p.member_id,
               jsonb_build_object('order_id', p.order_id, 'points_reversed', p.points_reversed,
                                  'points_forgiven', p.points_forgiven,
                                  'refunded_total', p.refunded_total) AS recorded,
               jsonb_build_object('points', coalesce(sum(r.points), 0),
                                  'forgiven', coalesce(sum(r.points_forgiven), 0),
                                  'amount', coalesce(sum(r.amount), 0)) AS recomputed
        FROM purchase p LEFT JOIN refund r USING (order_id)
        GROUP BY p.order_id
        HAVING p.points_reversed <> coalesce(sum(r.points), 0)
            OR p.points_forgiven <> coalesce(sum(r.points_forgiven), 0)
            OR p.refunded_total <> coalesce(sum(r.amount), 0)
    """,
}


@dataclass(frozen=True, slots=True)
class Difference:
    member_id: str
    recorded: dict[str, Any]
    recomputed: dict[str, Any]


async def differences(conn: Connection) -> dict[str, list[Difference]]:
    return {
        name: [Difference(**dict(row)) for row in await conn.fetch(sql)]
        for name, sql in CHECKS.items()
    }


async def members(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM points_account")
    return count


async def rebuild_balances(conn: Connection) -> list[str]:
    """Set every balance to the sum of its ledger; returns the members whose balances changed.
    The caller holds the table lock, so no movement lands between the sum and the write."""
    rows = await conn.fetch(
        """
        WITH ledger AS (
            SELECT member_id, sum(available_delta) AS available, sum(pending_delta) AS pending,
                   sum(lifetime_delta) AS lifetime, sum(held_delta) AS held
            FROM ledger_entry GROUP BY member_id
        )
        INSERT INTO points_account AS a (member_id, available, pending, lifetime_earned, held)
        SELECT member_id, available, pending, lifetime, held FROM ledger
        ON CONFLICT (member_id) DO UPDATE
           SET available = EXCLUDED.available, pending = EXCLUDED.pending,
               lifetime_earned = EXCLUDED.lifetime_earned, held = EXCLUDED.held,
               updated_at = now()
         WHERE (a.available, a.pending, a.lifetime_earned, a.held)
               IS DISTINCT FROM
               (EXCLUDED.available, EXCLUDED.pending, EXCLUDED.lifetime_earned, EXCLUDED.held)
        RETURNING member_id
        """
    )
    return [row["member_id"] for row in rows]
