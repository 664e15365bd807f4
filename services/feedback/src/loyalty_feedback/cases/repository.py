"""Detractor cases: the answers with their case state (open unless a row says otherwise)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class CaseRow:
    feedback_id: uuid.UUID
    member_id: str
    score: int
    comment: str | None
    order_id: str | None
    channel: str | None
    tier: str
    answered_at: datetime
    state: str
    assignee: str | None
    updated_at: datetime | None
    updated_by: str | None


_CASE = """
    SELECT f.feedback_id, f.member_id, f.score, f.comment, f.order_id, f.channel, f.tier,
           f.answered_at, coalesce(c.state, 'open') AS state, c.assignee, c.updated_at,
           c.updated_by
    FROM feedback f LEFT JOIN feedback_case c USING (feedback_id)
"""


async def page(
    conn: Connection,
    *,
    since: datetime,
    state: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[CaseRow]:
    rows = await conn.fetch(
        f"""
        {_CASE}
        WHERE f.score <= 6 AND f.answered_at >= $1
          AND ($2::text IS NULL OR coalesce(c.state, 'open') = $2)
          AND ($3::timestamptz IS NULL OR (f.answered_at, f.feedback_id) < ($3, $4::uuid))
        ORDER BY f.answered_at DESC, f.feedback_id DESC
        LIMIT $5
        """,
        since,
        state,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )
    return [CaseRow(**dict(row)) for row in rows]


async def counts(conn: Connection, *, since: datetime) -> dict[str, int]:
    rows = await conn.fetch(
        """
        SELECT coalesce(c.state, 'open') AS state, count(*)::int AS cases
        FROM feedback f LEFT JOIN feedback_case c USING (feedback_id)
        WHERE f.score <= 6 AND f.answered_at >= $1
        GROUP BY 1
        """,
        since,
    )
    return {row["state"]: row["cases"] for row in rows}


async def update(
    conn: Connection,
    feedback_id: uuid.UUID,
    *,
    state: str,
    assignee: str | None,
    by: str,
    at: datetime,
) -> CaseRow | None:
    """Set a detractor answer's case; None when there is no such detractor answer."""
    row = await conn.fetchrow(
        """
        WITH answer AS (
            SELECT feedback_id FROM feedback WHERE feedback_id = $1 AND score <= 6
        ), stored AS (
            INSERT INTO feedback_case AS c (feedback_id, state, assignee, updated_at, updated_by)
            SELECT feedback_id, $2, $3, $4, $5 FROM answer
            ON CONFLICT (feedback_id) DO UPDATE
               SET state = EXCLUDED.state, assignee = EXCLUDED.assignee,
                   updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
            RETURNING *
        )
        SELECT f.feedback_id, f.member_id, f.score, f.comment, f.order_id, f.channel, f.tier,
               f.answered_at, s.state, s.assignee, s.updated_at, s.updated_by
        FROM stored s JOIN feedback f USING (feedback_id)
        """,
        feedback_id,
        state,
        assignee,
        at,
        by,
    )
    return None if row is None else CaseRow(**dict(row))
