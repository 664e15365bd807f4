"""SQL of answers: the order they are about, storing one, and goodwill granted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class MemberOrder:
    """An order of the member's, with the survey invitation it got (if sampled)."""

    order_id: str
    channel: str
    invitation_id: uuid.UUID | None


async def lock_member(conn: Connection, member_id: str) -> None:
    """One answer of a member at a time (the goodwill cooldown is read, then written)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 42))", member_id)


async def answers_without_order_since(conn: Connection, member_id: str, since: datetime) -> int:
    """The member's answers in the app about no order from `since` on."""
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM feedback
        WHERE member_id = $1 AND answered_at >= $2 AND order_id IS NULL AND source = 'app'
        """,
        member_id,
        since,
    )
    return count


async def order_of(conn: Connection, member_id: str, order_id: str) -> MemberOrder | None:
    row = await conn.fetchrow(
        """
        SELECT p.order_id, p.channel, i.invitation_id
        FROM purchase p LEFT JOIN invitation i USING (order_id)
        WHERE p.order_id = $1 AND p.member_id = $2
        """,
        order_id,
        member_id,
    )
    return MemberOrder(**row) if row else None


async def insert_feedback(
    conn: Connection,
    *,
    feedback_id: uuid.UUID,
    member_id: str,
    invitation_id: uuid.UUID | None,
    order_id: str | None,
    channel: str | None,
    tier: str,
    score: int,
    csat: int | None,
    comment: str | None,
    source: str,
    answered_at: datetime,
) -> bool:
    """False when the invitation or the order already has an answer."""
    inserted = await conn.fetchval(
        """
        INSERT INTO feedback (feedback_id, member_id, invitation_id, order_id, channel, tier,
                              score, csat, comment, source, answered_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT DO NOTHING
        RETURNING 1
        """,
        feedback_id,
        member_id,
        invitation_id,
        order_id,
        channel,
        tier,
        score,
        csat,
        comment,
        source,
        answered_at,
    )
    return inserted is not None


async def grant_goodwill(
    conn: Connection,
    *,
    feedback_id: uuid.UUID,
    member_id: str,
    points: int,
    now: datetime,
    since: datetime,
) -> bool:
    """Grant unless the member had goodwill since `since`; True if granted."""
    granted = await conn.fetchval(
        """
        INSERT INTO goodwill_grant (feedback_id, member_id, points, granted_at)
        SELECT $1, $2, $3, $4
        WHERE NOT EXISTS (
            SELECT 1 FROM goodwill_grant WHERE member_id = $2 AND granted_at > $5
        )
        RETURNING 1
        """,
        feedback_id,
        member_id,
        points,
        now,
        since,
    )
    return granted is not None


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """An answer of the member's, with the goodwill points it earned (0 for none)."""

    feedback_id: uuid.UUID
    score: int
    csat: int | None
    comment: str | None
    order_id: str | None
    channel: str | None
    tier: str
    source: str
    answered_at: datetime
    goodwill_points: int


async def answers_of(conn: Connection, member_id: str, limit: int) -> list[AnswerRow]:
    rows = await conn.fetch(
        """
        SELECT f.feedback_id, f.score, f.csat, f.comment, f.order_id, f.channel, f.tier,
               f.source, f.answered_at, coalesce(g.points, 0) AS goodwill_points
        FROM feedback f LEFT JOIN goodwill_grant g USING (feedback_id)
        WHERE f.member_id = $1
        ORDER BY f.answered_at DESC, f.feedback_id DESC
        LIMIT $2
        """,
        member_id,
        limit,
    )
    return [AnswerRow(**row) for row in rows]
