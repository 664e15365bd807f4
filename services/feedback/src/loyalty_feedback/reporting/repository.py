"""NPS aggregates and comment search, computed by PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from loyalty_shared.db import Connection

_COUNTS = """
    count(*)::int AS responses,
    count(*) FILTER (WHERE score >= 9)::int AS promoters,
    count(*) FILTER (WHERE score BETWEEN 7 AND 8)::int AS passives,
    count(*) FILTER (WHERE score <= 6)::int AS detractors,
    round(100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6))
          / nullif(count(*), 0), 1)::float8 AS nps,
    round(avg(csat), 2)::float8 AS csat_average
"""

_GROUP_KEYS: dict[str, str] = {
    "tier": "tier",
    "channel": "coalesce(channel, 'unknown')",
    "week": "to_char(answered_at AT TIME ZONE 'UTC', 'IYYY-\"W\"IW')",
}

Dimension = Literal["tier", "channel", "week"]


@dataclass(frozen=True, slots=True)
class Counts:
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    csat_average: float | None


@dataclass(frozen=True, slots=True)
class GroupCounts(Counts):
    key: str


@dataclass(frozen=True, slots=True)
class WeekGroupCounts(GroupCounts):
    week: str


@dataclass(frozen=True, slots=True)
class Comment:
    feedback_id: uuid.UUID
    member_id: str
    score: int
    comment: str
    order_id: str | None
    channel: str | None
    answered_at: datetime


async def summary(conn: Connection, since: datetime) -> Counts:
    row = await conn.fetchrow(f"SELECT {_COUNTS} FROM feedback WHERE answered_at >= $1", since)
    assert row is not None  # an aggregate without GROUP BY always has one row
    return Counts(**row)


async def breakdown(conn: Connection, since: datetime, by: Dimension) -> list[GroupCounts]:
    key = _GROUP_KEYS[by]  # one of three fixed expressions, never user text
    rows = await conn.fetch(
        f"""
        SELECT {key} AS key, {_COUNTS}
        FROM feedback WHERE answered_at >= $1
        GROUP BY 1 ORDER BY 1
        """,
        since,
    )
    return [GroupCounts(**row) for row in rows]


TrendDimension = Literal["tier", "channel"]


async def weekly_breakdown(
    conn: Connection, since: datetime, by: TrendDimension
) -> list[WeekGroupCounts]:
    """NPS per ISO week and tier (or channel), from `since`."""
    key = _GROUP_KEYS[by]  # one of two fixed expressions, never user text
    rows = await conn.fetch(
        f"""
        SELECT {_GROUP_KEYS["week"]} AS week, {key} AS key, {_COUNTS}
        FROM feedback WHERE answered_at >= $1
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        since,
    )
    return [WeekGroupCounts(**row) for row in rows]


def like_pattern(text: str) -> str:
    """`text` anywhere, taken literally (its %, _ and \\ are not wildcards)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_comments(
    conn: Connection,
    *,
    text: str,
    since: datetime,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Comment]:
    rows = await conn.fetch(
        """
        SELECT feedback_id, member_id, score, comment, order_id, channel, answered_at
        FROM feedback
        WHERE comment ILIKE $1 AND answered_at >= $2
          AND ($3::timestamptz IS NULL OR (answered_at, feedback_id) < ($3, $4::uuid))
        ORDER BY answered_at DESC, feedback_id DESC
        LIMIT $5
        """,
        like_pattern(text),
        since,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )
    return [Comment(**row) for row in rows]
