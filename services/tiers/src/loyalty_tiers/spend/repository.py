"""SQL of qualifying spend: daily buckets, and each member's sum over the rolling window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from loyalty_shared.db import Connection


async def add_purchases(
    conn: Connection,
    *,
    order_ids: Sequence[str],
    member_ids: Sequence[str],
    days: Sequence[date],
    amounts: Sequence[Decimal],
) -> set[str]:
    """Count each order once, on its day; returns the order ids counted now (not before)."""
    rows = await conn.fetch(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[])
                   AS i (order_id, member_id, day, amount)
        ), new AS (
            INSERT INTO order_day (order_id, member_id, day)
            SELECT DISTINCT ON (order_id) order_id, member_id, day FROM input
            ON CONFLICT DO NOTHING
            RETURNING order_id
        ), counted AS (
            SELECT DISTINCT ON (order_id) i.* FROM input i JOIN new USING (order_id)
        ), buckets AS (
            INSERT INTO spend_day AS s (member_id, day, amount)
            SELECT member_id, day, sum(amount) FROM counted GROUP BY member_id, day
            ORDER BY member_id, day
            ON CONFLICT (member_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount
        )
        SELECT order_id FROM counted
        """,
        list(order_ids),
        list(member_ids),
        list(days),
        list(amounts),
    )
    return {row["order_id"] for row in rows}


async def subtract_refund(
    conn: Connection, *, order_id: str, member_id: str, fallback_day: date, amount: Decimal
) -> None:
    """Take a refund off the day its purchase counted on (its own day if the order is unknown)."""
    await conn.execute(
        """
        INSERT INTO spend_day AS s (member_id, day, amount)
        VALUES ($2, coalesce((SELECT day FROM order_day WHERE order_id = $1), $3), -$4::numeric)
        ON CONFLICT (member_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount
        """,
        order_id,
        member_id,
        fallback_day,
        amount,
    )


async def spend_in_window(
    conn: Connection, member_ids: Sequence[str], *, since: date
) -> dict[str, Decimal]:
    rows = await conn.fetch(
        """
        SELECT member_id, sum(amount) AS spend FROM spend_day
        WHERE member_id = ANY($1::text[]) AND day > $2
        GROUP BY member_id
        """,
        list(set(member_ids)),
        since,
    )
    return {row["member_id"]: row["spend"] for row in rows}


async def tiers_for_update(
    conn: Connection, member_ids: Sequence[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        """
        SELECT member_id, tier, valid_until, override_until FROM member_tier
        WHERE member_id = ANY($1::text[]) ORDER BY member_id FOR UPDATE
        """,
        list(set(member_ids)),
    )
    return {row["member_id"]: row for row in rows}


async def record_upgrades(
    conn: Connection,
    *,
    member_ids: Sequence[str],
    from_tiers: Sequence[str],
    to_tiers: Sequence[str],
    spends: Sequence[Decimal],
    reached_at: datetime,
    valid_until: datetime,
    causes: Sequence[str],
) -> None:
    await conn.execute(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $7::text[])
                   AS i (member_id, from_tier, to_tier, spend, cause)
        ), tiers AS (
            INSERT INTO member_tier AS m (member_id, tier, reached_at, valid_until,
                                          qualifying_spend)
            SELECT member_id, to_tier, $5, $6, spend FROM input ORDER BY member_id
            ON CONFLICT (member_id) DO UPDATE
               SET tier = EXCLUDED.tier, reached_at = EXCLUDED.reached_at,
                   valid_until = EXCLUDED.valid_until,
                   qualifying_spend = EXCLUDED.qualifying_spend,
                   override_until = NULL, override_reason = NULL, updated_at = now()
        )
        INSERT INTO tier_history (member_id, from_tier, to_tier, direction, reason,
                                  qualifying_spend, valid_until, changed_at, cause)
        SELECT member_id, from_tier, to_tier, 'up', 'spend', spend, $6, $5, cause FROM input
        """,
        list(member_ids),
        list(from_tiers),
        list(to_tiers),
        list(spends),
        reached_at,
        valid_until,
        list(causes),
    )


async def remember_spend(conn: Connection, spends: dict[str, Decimal]) -> None:
    await conn.execute(
        """
        UPDATE member_tier m SET qualifying_spend = s.spend
        FROM unnest($1::text[], $2::numeric[]) AS s (member_id, spend)
        WHERE m.member_id = s.member_id
        """,
        list(spends),
        list(spends.values()),
    )
