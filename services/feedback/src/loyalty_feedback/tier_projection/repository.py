"""SQL of members' current tiers, as the tiers service announced them."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_shared.db import Connection


async def set_tiers(conn: Connection, *, member_ids: Sequence[str], tiers: Sequence[str]) -> None:
    """The last change per member wins (the batch is in partition order)."""
    await conn.execute(
        """
        INSERT INTO member_tier AS m (member_id, tier)
        SELECT DISTINCT ON (member_id) member_id, tier
        FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t (member_id, tier, n)
        ORDER BY member_id, n DESC
        ON CONFLICT (member_id) DO UPDATE SET tier = EXCLUDED.tier, updated_at = now()
        """,
        list(member_ids),
        list(tiers),
    )


async def tier_of(conn: Connection, member_id: str) -> str | None:
    tier: str | None = await conn.fetchval(
        "SELECT tier FROM member_tier WHERE member_id = $1", member_id
    )
    return tier
