"""The downgrade evaluation in one statement per batch of due members (docs/events.md#tiers), taken
`FOR UPDATE SKIP LOCKED` and stamped with the day, so no member is evaluated twice a day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from loyalty_shared.db import Connection
from loyalty_shared.program.schema import Tier


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A member evaluated now: `to_tier` is `from_tier` when the spend kept the tier."""

    member_id: str
    from_tier: str
    to_tier: str
    spend: Decimal
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class DowngradeDue:
    """A member whose tier the evaluation on `valid_until` would drop to `drop_to`."""

    member_id: str
    tier: str
    valid_until: datetime
    spend: Decimal
    needed: Decimal
    drop_to: str


async def evaluate_due(
    conn: Connection,
    *,
    now: datetime,
    today: date,
    window_start: date,
    validity: timedelta,
    ladder: Sequence[Tier],
    limit: int,
) -> list[Evaluated]:
    rows = await conn.fetch(
        """
        WITH ladder AS (
            SELECT name, threshold, (n - 1)::int AS rank
            FROM unnest($5::text[], $6::numeric[]) WITH ORDINALITY AS l (name, threshold, n)
        ), due AS (
            SELECT m.member_id, m.tier FROM member_tier m
            WHERE m.valid_until <= $1 AND m.last_evaluated_on < $2
              AND (m.override_until IS NULL OR m.override_until <= $1)
              AND m.tier <> $5[1]
            ORDER BY m.member_id LIMIT $7
            FOR UPDATE SKIP LOCKED
        ), spend AS (
            SELECT d.member_id, d.tier, coalesce(sum(s.amount), 0) AS spend
            FROM due d LEFT JOIN spend_day s ON s.member_id = d.member_id AND s.day > $3
            GROUP BY d.member_id, d.tier
        ), ranked AS (
            SELECT s.member_id, s.tier, s.spend, coalesce(cur.rank, 0) AS held,
                   (SELECT max(rank) FROM ladder WHERE threshold <= s.spend) AS supported
            FROM spend s LEFT JOIN ladder cur ON cur.name = s.tier
        ), decided AS (
            SELECT r.member_id, r.tier AS from_tier, r.spend, r.supported >= r.held AS keeps,
                   (SELECT name FROM ladder WHERE rank = greatest(r.held - 1, r.supported))
                       AS to_tier
            FROM ranked r
        ), updated AS (
            UPDATE member_tier m
               SET tier = CASE WHEN d.keeps THEN m.tier ELSE d.to_tier END,
                   reached_at = CASE WHEN d.keeps THEN m.reached_at ELSE $1 END,
                   valid_until = $1 + $4::interval,
                   qualifying_spend = d.spend,
                   override_until = NULL, override_reason = NULL,
                   last_evaluated_on = $2, updated_at = now()
              FROM decided d
             WHERE m.member_id = d.member_id
            RETURNING m.member_id, d.from_tier, m.tier AS to_tier, d.spend, m.valid_until
        ), history AS (
            INSERT INTO tier_history (member_id, from_tier, to_tier, direction, reason,
                                      qualifying_spend, valid_until, changed_at, cause)
            SELECT member_id, from_tier, to_tier, 'down', 'evaluation', spend, valid_until, $1,
                   'evaluation:' || $2::text
            FROM updated WHERE to_tier <> from_tier
        )
        SELECT member_id, from_tier, to_tier, spend, valid_until FROM updated
        """,
        now,
        today,
        window_start,
        validity,
        [tier.name for tier in ladder],
        [tier.threshold for tier in ladder],
        limit,
    )
    return [Evaluated(**row) for row in rows]


async def downgrades_due(
    conn: Connection,
    *,
    now: datetime,
    notice: timedelta,
    window: timedelta,
    ladder: Sequence[Tier],
    limit: int,
) -> list[DowngradeDue]:
    """Members whose evaluation falls within `notice` and would drop them at the spend that will
    still count then, not warned for this validity period yet; they are stamped as warned."""
    rows = await conn.fetch(
        """
        WITH ladder AS (
            SELECT name, threshold, (n - 1)::int AS rank
            FROM unnest($3::text[], $4::numeric[]) WITH ORDINALITY AS l (name, threshold, n)
        ), due AS (
            SELECT m.member_id, m.tier, m.valid_until FROM member_tier m
            WHERE m.valid_until > $1 AND m.valid_until <= $2
              AND m.warned_for IS DISTINCT FROM m.valid_until
              AND (m.override_until IS NULL OR m.override_until <= m.valid_until)
              AND m.tier <> $3[1]
            ORDER BY m.member_id LIMIT $6
            FOR UPDATE SKIP LOCKED
        ), projected AS (
            SELECT d.member_id, d.tier, d.valid_until, cur.rank, cur.threshold,
                   coalesce(sum(s.amount), 0) AS spend
            FROM due d
            JOIN ladder cur ON cur.name = d.tier
            LEFT JOIN spend_day s
                   ON s.member_id = d.member_id AND s.day > (d.valid_until - $5::interval)::date
            GROUP BY d.member_id, d.tier, d.valid_until, cur.rank, cur.threshold
        ), stamped AS (
            UPDATE member_tier m SET warned_for = m.valid_until
              FROM due WHERE m.member_id = due.member_id
        )
        SELECT p.member_id, p.tier, p.valid_until, p.spend, p.threshold - p.spend AS needed,
               (SELECT name FROM ladder l WHERE l.rank = p.rank - 1) AS drop_to
        FROM projected p WHERE p.spend < p.threshold
        """,
        now,
        now + notice,
        [tier.name for tier in ladder],
        [tier.threshold for tier in ladder],
        window,
        limit,
    )
    return [DowngradeDue(**row) for row in rows]
