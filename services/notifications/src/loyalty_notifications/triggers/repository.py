"""Recording notifications (one row per trigger, cause and channel) and the facts triggers need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty_notifications.triggers.planner import NewNotification
from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Birthday:
    member_id: str
    #: The local year of the birthday: a member is greeted once a year.
    year: int
    #: The birthday points the points service gave for that year (0: none, or not yet told).
    points: int = 0


@dataclass(frozen=True, slots=True)
class Absence:
    member_id: str
    last_purchase_at: datetime


def _columns(rows: Sequence[NewNotification]) -> tuple[list[Any], ...]:
    """The rows as the arrays `$1` to `$9` of the statements below."""
    return (
        [r.id for r in rows],
        [r.member_id for r in rows],
        [r.trigger for r in rows],
        [r.cause for r in rows],
        [r.channel for r in rows],
        [r.causation_id for r in rows],
        [r.payload for r in rows],
        [r.due_at for r in rows],
        [r.expires_at for r in rows],
    )


async def record(conn: Connection, rows: Sequence[NewNotification], now: datetime) -> int:
    """Insert the rows; one already there for the same (trigger, cause, channel) is kept as is."""
    if not rows:
        return 0
    inserted = await conn.fetch(
        """
        INSERT INTO notification (id, member_id, trigger, cause, channel, causation_id, payload,
                                  due_at, expires_at, created_at, updated_at)
        SELECT id, member_id, trigger, cause, channel, causation_id, payload, due_at,
               expires_at, $10, $10
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::jsonb[], $8::timestamptz[], $9::timestamptz[])
             AS r (id, member_id, trigger, cause, channel, causation_id, payload, due_at,
                   expires_at)
        ON CONFLICT DO NOTHING
        RETURNING id
        """,
        *_columns(rows),
        now,
    )
    return len(inserted)


async def add_to_digests(conn: Connection, rows: Sequence[NewNotification], now: datetime) -> None:
    """Create each day's digest or add points to it while it has not gone out, in one statement
    (the rows are one per (trigger, cause, channel): a member's digest of a day, per channel)."""
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO notification AS n (id, member_id, trigger, cause, channel, causation_id,
                                       payload, due_at, expires_at, created_at, updated_at)
        SELECT id, member_id, trigger, cause, channel, causation_id, payload, due_at,
               expires_at, $10, $10
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::jsonb[], $8::timestamptz[], $9::timestamptz[])
             WITH ORDINALITY AS r (id, member_id, trigger, cause, channel, causation_id, payload,
                                   due_at, expires_at, n)
        ORDER BY n
        ON CONFLICT (trigger, cause, channel) DO UPDATE
           SET payload = jsonb_set(
                   jsonb_set(n.payload, '{points}',
                             to_jsonb((n.payload->>'points')::bigint
                                      + (EXCLUDED.payload->>'points')::bigint)),
                   '{purchases}',
                   to_jsonb((n.payload->>'purchases')::int
                            + (EXCLUDED.payload->>'purchases')::int)),
               updated_at = EXCLUDED.updated_at
         WHERE n.status = 'scheduled'
        """,
        *_columns(rows),
        now,
    )


async def suppress_coupon_messages(
    conn: Connection,
    *,
    member_ids: Sequence[str],
    codes: Sequence[str],
    reasons: Sequence[str],
    triggers: Sequence[str],
    now: datetime,
) -> None:
    """Messages of `triggers` about these members' coupons that are still scheduled are
    suppressed with the coupon's reason."""
    await conn.execute(
        """
        UPDATE notification n SET status = 'suppressed', reason = s.reason, updated_at = $5
        FROM unnest($1::text[], $2::text[], $3::text[]) AS s (member_id, code, reason)
        WHERE n.member_id = s.member_id AND n.trigger = ANY($4::text[])
          AND n.payload->>'coupon_code' = s.code AND n.status = 'scheduled'
        """,
        list(member_ids),
        list(codes),
        list(reasons),
        list(triggers),
        now,
    )


async def record_purchases(
    conn: Connection, member_ids: Sequence[str], times: Sequence[datetime]
) -> None:
    """The latest purchase time per member (a late event never moves it back)."""
    await conn.execute(
        """
        INSERT INTO member_activity AS a (member_id, last_purchase_at)
        SELECT member_id, max(at) FROM unnest($1::text[], $2::timestamptz[]) AS p (member_id, at)
        GROUP BY member_id ORDER BY member_id
        ON CONFLICT (member_id) DO UPDATE
           SET last_purchase_at = greatest(a.last_purchase_at, EXCLUDED.last_purchase_at)
        """,
        list(member_ids),
        list(times),
    )


async def birthdays_due(
    conn: Connection, *, now: datetime, default_time_zone: str, send_hour: int, limit: int
) -> list[Birthday]:
    """Members whose birthday it is in their own time zone, past the send hour, not greeted
    this (local) year. 29 February is celebrated on 28 February in other years.

    Only birthdays on the UTC day before, of or after `now` can be today somewhere, so the
    (month, day) index narrows the members looked at to those three days."""
    days = [(now + timedelta(days=d)).astimezone(UTC) for d in (-1, 0, 1)]
    months = [d.month for d in days]
    mdays = [d.day for d in days]
    if (2, 28) in zip(months, mdays, strict=True):
        months, mdays = [*months, 2], [*mdays, 29]
    rows = await conn.fetch(
        """
        WITH local AS (
            SELECT c.member_id, c.birthday,
                   ($1::timestamptz AT TIME ZONE coalesce(p.time_zone, $2)) AS at
            FROM member_contact c LEFT JOIN member_preference p USING (member_id)
            WHERE c.birthday IS NOT NULL
              AND (extract(month FROM c.birthday), extract(day FROM c.birthday)) IN (
                  SELECT * FROM unnest($5::int[], $6::int[]))
        )
        SELECT l.member_id, extract(year FROM l.at)::int AS year, coalesce(g.points, 0) AS points
        FROM local l
        LEFT JOIN birthday_gift g
               ON g.member_id = l.member_id AND g.year = extract(year FROM l.at)::int
        WHERE extract(hour FROM l.at) >= $3
          AND extract(month FROM l.birthday) = extract(month FROM l.at)
          AND (extract(day FROM l.birthday) = extract(day FROM l.at)
               OR (extract(month FROM l.at) = 2 AND extract(day FROM l.birthday) = 29
                   AND extract(day FROM l.at) = 28
                   AND extract(day FROM (date_trunc('year', l.at) + interval '1 month 28 days'))
                       <> 29))
          AND NOT EXISTS (
              SELECT 1 FROM notification n
              WHERE n.trigger = 'birthday'
                AND n.cause = 'birthday:' || l.member_id || ':' || extract(year FROM l.at)::int
          )
        ORDER BY l.member_id LIMIT $4
        """,
        now,
        default_time_zone,
        send_hour,
        limit,
        months,
        mdays,
    )
    return [Birthday(**row) for row in rows]


async def record_birthday_gifts(
    conn: Connection, *, member_ids: Sequence[str], years: Sequence[int], points: Sequence[int]
) -> None:
    """Keep each gift for the year's greeting, and put it into a greeting recorded already but
    not sent yet (the gift came after it was planned)."""
    await conn.execute(
        """
        WITH gift AS (
            INSERT INTO birthday_gift (member_id, year, points)
            SELECT * FROM unnest($1::text[], $2::int[], $3::int[])
            ON CONFLICT (member_id, year) DO NOTHING
            RETURNING member_id, year, points
        )
        UPDATE notification n
           SET payload = n.payload || jsonb_build_object('points', gift.points)
          FROM gift
         WHERE n.trigger = 'birthday' AND n.status = 'scheduled'
           AND n.member_id = gift.member_id
           AND n.cause = 'birthday:' || gift.member_id || ':' || gift.year
        """,
        list(member_ids),
        list(years),
        list(points),
    )


async def win_backs_due(conn: Connection, *, before: datetime, limit: int) -> list[Absence]:
    """Enrolled members whose last purchase is older than `before` and not won back yet; they
    are stamped in the same statement, so each absence is won back once (safe with replicas)."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT a.member_id FROM member_activity a
            JOIN member_contact c USING (member_id)
            WHERE a.last_purchase_at <= $1
              AND a.win_back_for IS DISTINCT FROM a.last_purchase_at
            ORDER BY a.member_id LIMIT $2
            FOR UPDATE OF a SKIP LOCKED
        )
        UPDATE member_activity a SET win_back_for = a.last_purchase_at
        FROM due WHERE a.member_id = due.member_id
        RETURNING a.member_id, a.last_purchase_at
        """,
        before,
        limit,
    )
    return [Absence(**row) for row in rows]
