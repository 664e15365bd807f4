"""Referrals as the points service keeps them, one per referred member."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class NewReferral:
    referee_id: str
    referrer_id: str
    event_id: str
    referred_at: datetime


@dataclass(frozen=True, slots=True)
class DueReferral:
    """A waiting referral whose referee's first purchase is available by now."""

    referee_id: str
    referrer_id: str
    order_id: str
    total: Decimal
    refunded_total: Decimal


async def record(conn: Connection, referrals: Sequence[NewReferral]) -> None:
    """Each referred member's first referral, in order; one whose referrer the new member had
    referred before is a `cycle` and never paid."""
    for r in referrals:
        await conn.execute(
            """
            INSERT INTO referral (referee_id, referrer_id, status, event_id, referred_at)
            SELECT $1, $2,
                   CASE WHEN EXISTS (SELECT 1 FROM referral
                                     WHERE referee_id = $2 AND referrer_id = $1)
                        THEN 'cycle' ELSE 'waiting' END,
                   $3, $4
            ON CONFLICT (referee_id) DO NOTHING
            """,
            r.referee_id,
            r.referrer_id,
            r.event_id,
            r.referred_at,
        )


async def due(conn: Connection, now: datetime, limit: int) -> list[DueReferral]:
    """Waiting referrals whose referee's first purchase is available by `now`, locked (another
    replica's job skips them)."""
    rows = await conn.fetch(
        """
        SELECT r.referee_id, r.referrer_id, p.order_id, p.total, p.refunded_total
        FROM referral r
        CROSS JOIN LATERAL (
            SELECT order_id, total, refunded_total, available_at FROM purchase
            WHERE member_id = r.referee_id ORDER BY purchased_at, order_id LIMIT 1
        ) p
        WHERE r.status = 'waiting' AND p.available_at <= $1
        ORDER BY r.referee_id
        LIMIT $2
        FOR UPDATE OF r SKIP LOCKED
        """,
        now,
        limit,
    )
    return [DueReferral(**dict(row)) for row in rows]


async def paid_to(conn: Connection, referrer_id: str, since: datetime) -> int:
    """How many referral bonuses the referrer earned after `since`."""
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM referral
        WHERE referrer_id = $1 AND status = 'paid' AND referrer_points > 0 AND settled_at > $2
        """,
        referrer_id,
        since,
    )
    return count


async def settle(
    conn: Connection,
    referee_id: str,
    *,
    status: str,
    order_id: str,
    referee_points: int,
    referrer_points: int,
    at: datetime,
) -> None:
    await conn.execute(
        """
        UPDATE referral SET status = $2, order_id = $3, referee_points = $4,
                            referrer_points = $5, settled_at = $6
        WHERE referee_id = $1
        """,
        referee_id,
        status,
        order_id,
        referee_points,
        referrer_points,
        at,
    )
