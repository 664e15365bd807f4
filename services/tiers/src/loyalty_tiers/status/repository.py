"""Reading a member's tier and history; the admin override."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class HeldTier:
    tier: str
    reached_at: datetime
    valid_until: datetime
    override_until: datetime | None


@dataclass(frozen=True, slots=True)
class TierChangeRow:
    from_tier: str
    to_tier: str
    direction: Literal["up", "down", "same"]
    reason: Literal["spend", "evaluation", "admin", "import"]
    qualifying_spend: Decimal
    valid_until: datetime
    changed_at: datetime


async def tier_of(conn: Connection, member_id: str) -> HeldTier | None:
    row = await conn.fetchrow(
        """
        SELECT tier, reached_at, valid_until, override_until
        FROM member_tier WHERE member_id = $1
        """,
        member_id,
    )
    return HeldTier(**row) if row else None


async def spend_since(conn: Connection, member_id: str, since: date) -> Decimal:
    spend: Decimal = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM spend_day WHERE member_id = $1 AND day > $2",
        member_id,
        since,
    )
    return spend


async def history(conn: Connection, member_id: str, limit: int) -> list[TierChangeRow]:
    rows = await conn.fetch(
        """
        SELECT from_tier, to_tier, direction, reason, qualifying_spend, valid_until, changed_at
        FROM tier_history WHERE member_id = $1 ORDER BY id DESC LIMIT $2
        """,
        member_id,
        limit,
    )
    return [TierChangeRow(**row) for row in rows]


async def set_override(
    conn: Connection,
    *,
    member_id: str,
    tier: str,
    reason: str,
    until: datetime,
    now: datetime,
    spend: Decimal,
    from_tier: str,
    direction: str,
) -> None:
    await conn.execute(
        """
        WITH t AS (
            INSERT INTO member_tier AS m (member_id, tier, reached_at, valid_until,
                                          qualifying_spend, override_until, override_reason)
            VALUES ($1, $2, $5, $4, $6, $4, $3)
            ON CONFLICT (member_id) DO UPDATE
               SET tier = EXCLUDED.tier, reached_at = EXCLUDED.reached_at,
                   valid_until = greatest(m.valid_until, EXCLUDED.valid_until),
                   override_until = EXCLUDED.override_until,
                   override_reason = EXCLUDED.override_reason, updated_at = now()
        )
        INSERT INTO tier_history (member_id, from_tier, to_tier, direction, reason,
                                  qualifying_spend, valid_until, changed_at, cause)
        VALUES ($1, $7, $2, $8, 'admin', $6, $4, $5, $3)
        """,
        member_id,
        tier,
        reason,
        until,
        now,
        spend,
        from_tier,
        direction,
    )
