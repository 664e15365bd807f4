"""The member's tier as the points service knows it (from `tier.changed`)."""

from __future__ import annotations

from datetime import datetime

from loyalty_shared.db import Connection


async def current_tier(conn: Connection, member_id: str) -> str | None:
    tier: str | None = await conn.fetchval(
        "SELECT tier FROM member_tier WHERE member_id = $1", member_id
    )
    return tier


async def record_tier(
    conn: Connection, *, member_id: str, tier: str, changed_at: datetime, event_id: str
) -> None:
    """Keep the newest change: a `tier.changed` that arrives late never undoes a newer one."""
    await conn.execute(
        """
        INSERT INTO member_tier AS t (member_id, tier, changed_at, event_id)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (member_id) DO UPDATE
           SET tier = EXCLUDED.tier, changed_at = EXCLUDED.changed_at, event_id = EXCLUDED.event_id
         WHERE t.changed_at <= EXCLUDED.changed_at
        """,
        member_id,
        tier,
        changed_at,
        event_id,
    )
