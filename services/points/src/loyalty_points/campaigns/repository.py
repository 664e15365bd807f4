"""SQL of campaigns started at run time: versions appended, never rewritten (a version's
`in_force_until` is set once, when a new version or the end closes it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from loyalty_points.campaigns.campaign import RunTimeCampaign
from loyalty_shared.db import Connection

_COLUMNS = """id, campaign_id, version, multiplier, starts_at, ends_at, channels, categories,
              in_force_from, in_force_until, created_by, ended_by"""


@dataclass(frozen=True, slots=True)
class CampaignVersion:
    id: int
    campaign_id: str
    version: int
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    channels: list[str]
    categories: list[str]
    in_force_from: datetime
    in_force_until: datetime | None
    created_by: str
    ended_by: str | None

    @property
    def campaign(self) -> RunTimeCampaign:
        return RunTimeCampaign(
            campaign_id=self.campaign_id,
            version=self.version,
            multiplier=self.multiplier,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            channels=tuple(self.channels),
            categories=tuple(self.categories),
        )


def _version(row: asyncpg.Record) -> CampaignVersion:
    return CampaignVersion(**dict(row))


async def in_force(conn: Connection, now: datetime) -> list[RunTimeCampaign]:
    """The versions a purchase processed at `now` earns under, by campaign id."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM campaign_version
        WHERE in_force_from <= $1 AND (in_force_until IS NULL OR in_force_until > $1)
        ORDER BY campaign_id
        """,
        now,
    )
    return [_version(r).campaign for r in rows]


async def lock_latest(conn: Connection, campaign_id: str) -> CampaignVersion | None:
    """The campaign's latest version, its campaign row locked for this transaction (so two
    changes of one campaign take turns), or None for a new campaign."""
    row = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM campaign_version
        WHERE (campaign_id, version) = (SELECT campaign_id, version FROM campaign
                                        WHERE campaign_id = $1 FOR UPDATE)
        """,
        campaign_id,
    )
    return None if row is None else _version(row)


async def add_version(
    conn: Connection, campaign: RunTimeCampaign, *, now: datetime, actor: str
) -> CampaignVersion:
    """The campaign's next version, in force from `now`; the one in force until now ends."""
    row = await conn.fetchrow(
        f"""
        WITH head AS (
            INSERT INTO campaign AS c (campaign_id, version, created_at) VALUES ($1, 1, $7)
            ON CONFLICT (campaign_id) DO UPDATE SET version = c.version + 1
            RETURNING version
        ), closed AS (
            UPDATE campaign_version SET in_force_until = $7
            WHERE campaign_id = $1 AND in_force_until IS NULL
        )
        INSERT INTO campaign_version (campaign_id, version, multiplier, starts_at, ends_at,
                                      channels, categories, in_force_from, created_by)
        SELECT $1, head.version, $2, $3, $4, $5, $6, $7, $8 FROM head
        RETURNING {_COLUMNS}
        """,
        campaign.campaign_id,
        campaign.multiplier,
        campaign.starts_at,
        campaign.ends_at,
        list(campaign.channels),
        list(campaign.categories),
        now,
        actor,
    )
    assert row is not None
    return _version(row)


async def end(conn: Connection, campaign_id: str, *, now: datetime, actor: str) -> None:
    """The version in force (if any) stops being in force at `now`; the caller holds the lock."""
    await conn.execute(
        """
        UPDATE campaign_version SET in_force_until = $2, ended_by = $3
        WHERE campaign_id = $1 AND in_force_until IS NULL
        """,
        campaign_id,
        now,
        actor,
    )


async def page(
    conn: Connection, *, before_id: int | None, limit: int, every_version: bool
) -> list[CampaignVersion]:
    """Newest change first: each campaign's latest version, or `every_version`."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM campaign_version v
        WHERE ($1::bigint IS NULL OR v.id < $1)
          AND ($3 OR v.version = (SELECT version FROM campaign c
                                  WHERE c.campaign_id = v.campaign_id))
        ORDER BY v.id DESC LIMIT $2
        """,
        before_id,
        limit,
        every_version,
    )
    return [_version(r) for r in rows]
