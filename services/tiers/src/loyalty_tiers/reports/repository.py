"""Members by tier and activity, counted by PostgreSQL in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class TierCount:
    tier: str
    members: int
    active_recent: int
    active_longer: int


async def members_by_tier(
    conn: Connection, *, base_tier: str, active_since: tuple[date, date]
) -> list[TierCount]:
    """Per tier: members, and those who bought on or after each day of `active_since`. A member
    who bought but never changed tier is on the base tier (the tiers service writes a member's
    tier row on their first change)."""
    rows = await conn.fetch(
        """
        WITH buyers AS (
            SELECT member_id, max(day) AS last_day FROM order_day GROUP BY member_id
        )
        SELECT coalesce(t.tier, $1) AS tier,
               count(*)::int AS members,
               count(*) FILTER (WHERE b.last_day >= $2)::int AS active_recent,
               count(*) FILTER (WHERE b.last_day >= $3)::int AS active_longer
        FROM buyers b FULL JOIN member_tier t USING (member_id)
        GROUP BY 1
        """,
        base_tier,
        active_since[0],
        active_since[1],
    )
    return [TierCount(**dict(row)) for row in rows]
