"""SQL of imported members: claiming each (source, member) once, their spend on the import's
day, and the tiers they bring, with a history entry naming the source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class ImportedMember:
    """A member's row of an import: their tier until `valid_until` (None: the base tier or
    what the spend supports) and their qualifying spend."""

    source: str
    member_id: str
    tier: str | None
    valid_until: datetime | None
    qualifying_spend: Decimal


@dataclass(frozen=True, slots=True)
class ImportedTier:
    """A tier an import gives a member (one above the tier the member holds)."""

    source: str
    member_id: str
    from_tier: str
    to_tier: str
    valid_until: datetime
    spend: Decimal


async def claim(conn: Connection, rows: Sequence[ImportedMember], now: datetime) -> set[str]:
    """Claim each row's (source, member); returns the members claimed now (not before)."""
    claimed = await conn.fetch(
        """
        INSERT INTO imported_member (source, member_id, tier, valid_until, qualifying_spend,
                                     imported_at)
        SELECT *, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
                                 $5::numeric[])
        ORDER BY 2
        ON CONFLICT DO NOTHING
        RETURNING member_id
        """,
        [r.source for r in rows],
        [r.member_id for r in rows],
        [r.tier for r in rows],
        [r.valid_until for r in rows],
        [r.qualifying_spend for r in rows],
        now,
    )
    return {row["member_id"] for row in claimed}


async def add_spend(conn: Connection, spends: dict[str, Decimal], *, day: date) -> None:
    """Add each member's spend to their spend of `day`."""
    members = sorted(m for m, spend in spends.items() if spend > 0)
    if not members:
        return
    await conn.execute(
        """
        INSERT INTO spend_day AS s (member_id, day, amount)
        SELECT member_id, $3, amount FROM unnest($1::text[], $2::numeric[]) AS i (member_id, amount)
        ON CONFLICT (member_id, day) DO UPDATE SET amount = s.amount + EXCLUDED.amount
        """,
        members,
        [spends[m] for m in members],
        day,
    )


async def record_tiers(conn: Connection, tiers: Sequence[ImportedTier], now: datetime) -> None:
    """Each member on their imported tier from `now` until its `valid_until` (an override
    ends, as with an upgrade), with a history entry `import` caused by `import:<source>`."""
    if not tiers:
        return
    await conn.execute(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                 $5::timestamptz[], $6::numeric[])
                   AS i (source, member_id, from_tier, to_tier, valid_until, spend)
        ), tiers AS (
            INSERT INTO member_tier AS m (member_id, tier, reached_at, valid_until,
                                          qualifying_spend)
            SELECT member_id, to_tier, $7, valid_until, spend FROM input ORDER BY member_id
            ON CONFLICT (member_id) DO UPDATE
               SET tier = EXCLUDED.tier, reached_at = EXCLUDED.reached_at,
                   valid_until = EXCLUDED.valid_until,
                   qualifying_spend = EXCLUDED.qualifying_spend,
                   override_until = NULL, override_reason = NULL, updated_at = now()
        )
        INSERT INTO tier_history (member_id, from_tier, to_tier, direction, reason,
                                  qualifying_spend, valid_until, changed_at, cause)
        SELECT member_id, from_tier, to_tier, 'up', 'import', spend, valid_until, $7,
               'import:' || source
        FROM input
        """,
        [t.source for t in tiers],
        [t.member_id for t in tiers],
        [t.from_tier for t in tiers],
        [t.to_tier for t in tiers],
        [t.valid_until for t in tiers],
        [t.spend for t in tiers],
        now,
    )
