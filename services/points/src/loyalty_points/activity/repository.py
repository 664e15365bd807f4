"""The ledger summed per ISO week of when entries took effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class WeekRow:
    week: str
    starts_on: date
    earned: int
    redeemed: int
    expired: int
    reversed: int
    adjusted: int


async def weekly(conn: Connection, *, first_monday: date, weeks: int) -> list[WeekRow]:
    rows = await conn.fetch(
        """
        WITH weeks AS (
            SELECT generate_series($1::date, $1::date + 7 * ($2 - 1), interval '7 days')::date
                   AS starts_on
        ), sums AS (
            SELECT date_trunc('week', occurred_at AT TIME ZONE 'UTC')::date AS starts_on,
                   coalesce(sum(lifetime_delta) FILTER (WHERE kind = 'earn'), 0) AS earned,
                   coalesce(-sum(available_delta + pending_delta + held_delta)
                            FILTER (WHERE kind IN ('redeem', 'redeem_cancel')), 0) AS redeemed,
                   coalesce(-sum(available_delta + pending_delta + held_delta)
                            FILTER (WHERE kind = 'expire'), 0) AS expired,
                   coalesce(-sum(available_delta + pending_delta + held_delta)
                            FILTER (WHERE kind = 'reverse'), 0) AS reversed,
                   coalesce(sum(available_delta + pending_delta + held_delta)
                            FILTER (WHERE kind = 'adjust'), 0) AS adjusted
            FROM ledger_entry
            WHERE occurred_at >= $1::date AT TIME ZONE 'UTC'
              AND kind IN ('earn', 'redeem', 'redeem_cancel', 'expire', 'reverse', 'adjust')
            GROUP BY 1
        )
        SELECT to_char(w.starts_on, 'IYYY-"W"IW') AS week, w.starts_on,
               coalesce(s.earned, 0)::bigint AS earned,
               coalesce(s.redeemed, 0)::bigint AS redeemed,
               coalesce(s.expired, 0)::bigint AS expired,
               coalesce(s.reversed, 0)::bigint AS reversed,
               coalesce(s.adjusted, 0)::bigint AS adjusted
        FROM weeks w LEFT JOIN sums s USING (starts_on)
        ORDER BY w.starts_on
        """,
        first_monday,
        weeks,
    )
    return [WeekRow(**dict(row)) for row in rows]
