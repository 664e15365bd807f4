"""The member's tier as the points service knows it (from `tier.changed`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty_shared.db import Connection


async def current_tiers(conn: Connection, member_ids: Sequence[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT member_id, tier FROM member_tier WHERE member_id = ANY($1::text[])",
        list(set(member_ids)),
    )
    return {row["member_id"]: row["tier"] for row in rows}


async def record_tiers(
    conn: Connection,
    *,
    member_ids: Sequence[str],
    tiers: Sequence[str],
    changed_at: Sequence[datetime],
    event_ids: Sequence[str],
) -> None:
    """Keep each member's newest change: a `tier.changed` that arrives late never undoes a newer
    one, and of several changes for one member in a batch the newest wins."""
    await conn.execute(
        """
        INSERT INTO member_tier AS t (member_id, tier, changed_at, event_id)
        SELECT DISTINCT ON (member_id) member_id, tier, changed_at, event_id
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
             WITH ORDINALITY AS c (member_id, tier, changed_at, event_id, n)
        ORDER BY member_id, changed_at DESC, n DESC
        ON CONFLICT (member_id) DO UPDATE
           SET tier = EXCLUDED.tier, changed_at = EXCLUDED.changed_at, event_id = EXCLUDED.event_id
         WHERE t.changed_at <= EXCLUDED.changed_at
        """,
        list(member_ids),
        list(tiers),
        list(changed_at),
        list(event_ids),
    )
