"""SQL of crediting purchases: each purchase, its lot, its ledger entries and the balances, for a
whole batch in one statement, so the four always agree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import msgspec

from loyalty_shared.db import Connection


class Credit(msgspec.Struct, frozen=True):
    """One purchase to credit, with what the earning rules made of it."""

    order_id: str
    member_id: str
    event_id: str
    channel: str
    currency: str
    total: Decimal
    tier: str
    multiplier: Decimal
    points: int
    purchased_at: datetime
    available_at: datetime
    expires_at: datetime
    #: what the points are by the time they are credited (`points.earned` says it)
    status: Literal["pending", "available", "expired"]
    details: dict[str, Any]
    #: each category's list value, kept with the purchase for backtests
    categories: dict[str, str]
    #: its member is flagged for review: pending (`status`), held until the review (abuse/)
    held: bool = False


class Credited(msgspec.Struct, frozen=True):
    event_ids: set[str]
    #: members who owed points when points already available were credited to them: their new
    #: lots repay that first (`conform_lots`)
    debtors: list[str]


async def credit_purchases(conn: Connection, credits: Sequence[Credit]) -> Credited:
    """Credit the purchases whose order id was never credited.

    An order id already credited (by another event) writes nothing, and of two purchases with
    the same order id in one batch only the first is credited. A purchase whose return window
    has ended is earned pending at its time and matured at the window's end (two entries), so
    the ledger says when its points became available; its expiry, if that has passed too, is
    the caller's to settle.
    """
    columns = list(zip(*(_row(c) for c in credits), strict=True))
    rows = await conn.fetch(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::numeric[], $7::text[], $8::numeric[], $9::bigint[],
                                 $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
                                 $13::jsonb[], $14::bool[], $15::jsonb[], $16::bool[])
                   WITH ORDINALITY AS i (order_id, member_id, event_id, channel, currency, total,
                                         tier, multiplier, points, purchased_at, available_at,
                                         expires_at, details, late, categories, held, n)
        ), p AS (
            INSERT INTO purchase (order_id, member_id, event_id, channel, currency, total, tier,
                                  multiplier, points, purchased_at, available_at, expires_at,
                                  categories)
            SELECT order_id, member_id, event_id, channel, currency, total, tier, multiplier,
                   points, purchased_at, available_at, expires_at, categories
            FROM input ORDER BY n
            ON CONFLICT (order_id) DO NOTHING
            RETURNING order_id, event_id
        ), credited AS (
            -- each lot's id drawn here (after the sort, so in the batch's order): the lot and its
            -- entries are written from this one row set, never joined back to each other
            SELECT i.*, CASE WHEN i.points > 0
                             THEN nextval(pg_get_serial_sequence('points_lot', 'id')) END AS lot_id
            FROM input i JOIN p USING (order_id, event_id) ORDER BY i.n
        ), lot AS (
            INSERT INTO points_lot (id, member_id, order_id, points, remaining, status,
                                    available_at, expires_at, earned_at, under_review)
            SELECT lot_id, member_id, order_id, points, points,
                   CASE WHEN late THEN 'available' ELSE 'pending' END, available_at, expires_at,
                   purchased_at, held
            FROM credited WHERE points > 0 ORDER BY n
        ), entry AS (
            INSERT INTO ledger_entry (member_id, kind, available_delta, pending_delta,
                                      lifetime_delta, order_id, lot_id, cause_event_id, actor,
                                      occurred_at, details)
            (SELECT member_id, 'earn', 0, points, points, order_id, lot_id, event_id,
                    'system:purchase', purchased_at, details
             FROM credited WHERE points > 0 ORDER BY n)
            UNION ALL
            (SELECT member_id, 'mature', points, -points, 0, order_id, lot_id, NULL,
                    'system:maturation', available_at, '{}'::jsonb
             FROM credited WHERE points > 0 AND late ORDER BY n)
        ), late AS (
            SELECT member_id, sum(points) AS points FROM credited WHERE late GROUP BY member_id
        ), account AS (
            INSERT INTO points_account AS a (member_id, available, pending, lifetime_earned)
            SELECT member_id, coalesce(sum(points) FILTER (WHERE late), 0),
                   coalesce(sum(points) FILTER (WHERE NOT late), 0), sum(points)
            FROM credited WHERE points > 0
            GROUP BY member_id ORDER BY member_id
            ON CONFLICT (member_id) DO UPDATE
               SET available = a.available + EXCLUDED.available,
                   pending = a.pending + EXCLUDED.pending,
                   lifetime_earned = a.lifetime_earned + EXCLUDED.lifetime_earned,
                   updated_at = now()
            RETURNING member_id, available
        )
        SELECT event_id, NULL AS debtor FROM credited
        UNION ALL
        SELECT NULL, a.member_id FROM account a JOIN late USING (member_id)
        WHERE a.available - late.points < 0
        """,
        *columns,
    )
    return Credited(
        event_ids={row["event_id"] for row in rows if row["event_id"] is not None},
        debtors=[row["debtor"] for row in rows if row["debtor"] is not None],
    )


def _row(c: Credit) -> tuple[Any, ...]:
    return (
        c.order_id,
        c.member_id,
        c.event_id,
        c.channel,
        c.currency,
        c.total,
        c.tier,
        c.multiplier,
        c.points,
        c.purchased_at,
        c.available_at,
        c.expires_at,
        c.details,
        c.status != "pending",
        c.categories,
        c.held,
    )
