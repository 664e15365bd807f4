"""SQL of crediting a purchase: the purchase, its lot, its ledger entry and the balance, in one
statement so the four always agree."""

from __future__ import annotations

from datetime import datetime

from loyalty_points.earning.rules import Earn
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1


async def credit_purchase(
    conn: Connection,
    *,
    purchase: PurchaseCompletedV1,
    event_id: str,
    purchased_at: datetime,
    earn: Earn,
    status: str,
) -> bool:
    """False when the order was credited before (by another event id): nothing is written."""
    inserted = await conn.fetchval(
        """
        WITH p AS (
            INSERT INTO purchase (order_id, member_id, event_id, channel, currency, total, tier,
                                  multiplier, points, purchased_at, available_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (order_id) DO NOTHING
            RETURNING order_id, member_id, points
        ), lot AS (
            INSERT INTO points_lot (member_id, order_id, points, remaining, status,
                                    available_at, expires_at)
            SELECT member_id, order_id, points, points, $13, $11, $12 FROM p WHERE points > 0
            RETURNING id, member_id, order_id, points
        ), entry AS (
            INSERT INTO ledger_entry (member_id, kind, available_delta, pending_delta,
                                      lifetime_delta, order_id, lot_id, cause_event_id, actor,
                                      occurred_at, details)
            SELECT member_id, 'earn',
                   CASE WHEN $13 = 'available' THEN points ELSE 0 END,
                   CASE WHEN $13 = 'pending' THEN points ELSE 0 END,
                   points, order_id, id, $3, 'system:purchase', $10, $14::jsonb
            FROM lot
        ), account AS (
            INSERT INTO points_account AS a (member_id, available, pending, lifetime_earned)
            SELECT member_id,
                   CASE WHEN $13 = 'available' THEN points ELSE 0 END,
                   CASE WHEN $13 = 'pending' THEN points ELSE 0 END,
                   points
            FROM lot
            ON CONFLICT (member_id) DO UPDATE
               SET available = a.available + EXCLUDED.available,
                   pending = a.pending + EXCLUDED.pending,
                   lifetime_earned = a.lifetime_earned + EXCLUDED.lifetime_earned,
                   updated_at = now()
        )
        SELECT count(*) FROM p
        """,
        purchase.order_id,
        purchase.member_id,
        event_id,
        purchase.channel,
        purchase.currency,
        purchase.total,
        earn.tier,
        earn.multiplier,
        earn.points,
        purchased_at,
        earn.available_at,
        earn.expires_at,
        status,
        {
            "base_points": earn.base_points,
            "tier": earn.tier,
            "multiplier": str(earn.multiplier),
            "currency": purchase.currency,
            "total": str(purchase.total),
            "channel": purchase.channel,
        },
    )
    return bool(inserted)
