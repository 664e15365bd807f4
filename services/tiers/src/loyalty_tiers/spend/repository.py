"""SQL of qualifying spend: daily buckets, and each member's sum over the rolling window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import Purchase, Refund
from loyalty_shared.events.refunds import OrderRefunds


async def add_purchases(
    conn: Connection, purchases: Sequence[Purchase], *, spend_currency: str
) -> set[str]:
    """Record each order once, on the UTC day of its `time` (whatever its currency, so its
    refunds can be judged), and add those in `spend_currency` to their day's spend; returns the
    order ids recorded now (not before)."""
    rows = await conn.fetch(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::numeric[])
                   AS i (order_id, member_id, day, currency, total)
        ), new AS (
            INSERT INTO order_day (order_id, member_id, day, currency, total)
            SELECT DISTINCT ON (order_id) order_id, member_id, day, currency, total FROM input
            ON CONFLICT DO NOTHING
            RETURNING order_id
        ), counted AS (
            SELECT DISTINCT ON (order_id) i.* FROM input i JOIN new USING (order_id)
        ), buckets AS (
            INSERT INTO spend_day AS s (member_id, day, amount)
            SELECT member_id, day, sum(total) FROM counted WHERE currency = $6
            GROUP BY member_id, day
            ORDER BY member_id, day
            ON CONFLICT (member_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount
        )
        SELECT order_id FROM counted
        """,
        [p.data.order_id for p in purchases],
        [p.data.member_id for p in purchases],
        [p.envelope.time.astimezone(UTC).date() for p in purchases],
        [p.data.currency for p in purchases],
        [p.data.total for p in purchases],
        spend_currency,
    )
    return {row["order_id"] for row in rows}


async def orders_for_update(conn: Connection, order_ids: Sequence[str]) -> list[OrderRefunds]:
    """The orders refunds name, locked until the batch commits (in a fixed order)."""
    rows = await conn.fetch(
        """
        SELECT order_id, member_id, currency, total, refunded FROM order_day
        WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE
        """,
        list(set(order_ids)),
    )
    return [OrderRefunds(**row) for row in rows]


async def record_refunds(
    conn: Connection, refunds: Sequence[Refund], *, spend_currency: str
) -> None:
    """Record accepted refunds, add them to their orders' refunded amount, and take those of
    orders in `spend_currency` off the day their order counted on."""
    await conn.execute(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[],
                                 $5::timestamptz[])
                   AS i (refund_id, order_id, event_id, amount, refunded_at)
        ), refunds AS (
            INSERT INTO refund (refund_id, order_id, event_id, amount, refunded_at)
            SELECT * FROM input
        ), orders AS (
            UPDATE order_day o SET refunded = o.refunded + i.amount
            FROM (SELECT order_id, sum(amount) AS amount FROM input GROUP BY order_id) i
            WHERE o.order_id = i.order_id
        )
        INSERT INTO spend_day AS s (member_id, day, amount)
        SELECT o.member_id, o.day, -sum(i.amount)
        FROM input i JOIN order_day o USING (order_id)
        WHERE o.currency = $6
        GROUP BY o.member_id, o.day
        ORDER BY o.member_id, o.day
        ON CONFLICT (member_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount
        """,
        [r.data.refund_id for r in refunds],
        [r.data.order_id for r in refunds],
        [r.envelope.id for r in refunds],
        [r.data.amount for r in refunds],
        [r.envelope.time for r in refunds],
        spend_currency,
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


async def tiers_for_update(conn: Connection, member_ids: Sequence[str]) -> dict[str, str]:
    """The tier each of these members holds (those who hold one), locked in a fixed order."""
    rows = await conn.fetch(
        """
        SELECT member_id, tier FROM member_tier
        WHERE member_id = ANY($1::text[]) ORDER BY member_id FOR UPDATE
        """,
        list(set(member_ids)),
    )
    return {row["member_id"]: row["tier"] for row in rows}


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
