"""SQL of the liability report: the balances of every member, a year of expiries and
redemptions, and the points lots will lose to expiry month by month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Balances:
    #: members' available points above zero, plus held ones
    available: int
    pending: int
    held: int
    #: the sum of the balances below zero (<= 0)
    negative: int
    negative_members: int


async def balances(conn: Connection) -> Balances:
    row = await conn.fetchrow(
        """
        SELECT coalesce(sum(greatest(available, 0) + held), 0)::bigint AS available,
               coalesce(sum(pending), 0)::bigint AS pending,
               coalesce(sum(held), 0)::bigint AS held,
               coalesce(sum(least(available, 0)), 0)::bigint AS negative,
               count(*) FILTER (WHERE available < 0) AS negative_members
        FROM points_account
        """
    )
    assert row is not None
    return Balances(**dict(row))


@dataclass(frozen=True, slots=True)
class Spent:
    expired: int
    #: redeemed, less redemptions cancelled
    redeemed: int


async def spent(conn: Connection, since: datetime, until: datetime) -> Spent:
    """Points that expired and points redeemed (less cancellations), by when it happened, in
    (`since`, `until`]."""
    row = await conn.fetchrow(
        """
        SELECT coalesce(-sum(available_delta + pending_delta)
                         FILTER (WHERE kind = 'expire'), 0)::bigint AS expired,
               coalesce(-sum(available_delta + held_delta)
                         FILTER (WHERE kind IN ('redeem', 'redeem_cancel')), 0)::bigint
                   AS redeemed
        FROM ledger_entry
        WHERE kind IN ('expire', 'redeem', 'redeem_cancel')
          AND occurred_at > $1 AND occurred_at <= $2
        """,
        since,
        until,
    )
    assert row is not None
    return Spent(expired=row["expired"], redeemed=max(row["redeemed"], 0))


async def expiring_by_month(
    conn: Connection, *, time_zone: str, after: datetime, before: datetime
) -> dict[str, int]:
    """Points the lots hold that expire after `after`, by month ("YYYY-MM") in `time_zone`;
    those expiring at or after `before` as one figure under "later"."""
    rows = await conn.fetch(
        """
        SELECT CASE WHEN expires_at < $3 THEN to_char(expires_at AT TIME ZONE $1, 'YYYY-MM')
                    ELSE 'later' END AS month,
               sum(remaining)::bigint AS points
        FROM points_lot
        WHERE remaining > 0 AND expires_at > $2
        GROUP BY 1
        """,
        time_zone,
        after,
        before,
    )
    return {row["month"]: row["points"] for row in rows}


async def ledger_began(conn: Connection) -> datetime | None:
    """When the first entry the ledger recorded took effect."""
    began: datetime | None = await conn.fetchval(
        "SELECT occurred_at FROM ledger_entry ORDER BY id LIMIT 1"
    )
    return began
