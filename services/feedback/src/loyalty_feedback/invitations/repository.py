"""Sending due survey invitations (docs/events.md, `feedback.requested`) in one statement per batch,
safe with several replicas."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Literal

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Invitation:
    invitation_id: uuid.UUID
    member_id: str
    order_id: str
    channel: str
    status: Literal["pending", "sent", "skipped"]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Sent:
    """An invitation sent now, to go out as `feedback.requested`."""

    invitation_id: uuid.UUID
    member_id: str
    order_id: str
    channel: str
    purchased_at: datetime
    sent_at: datetime
    expires_at: datetime


async def send_due(
    conn: Connection, *, now: datetime, cooldown: timedelta, validity: timedelta, limit: int
) -> tuple[list[Sent], list[str]]:
    """Decide up to `limit` due invitations: those whose order was refunded in full, answered in
    the app, or overdue past their validity are skipped; of the rest, one per member (the
    earliest) is sent unless the member had one within `cooldown` (an upsert on the member's row
    whose `WHERE` is the cooldown, so two replicas sending to one member serialise there), the
    others skipped as `cooldown`. A member's other due rows of the batch wait for the next pass.
    Returns the invitations sent and the reason of each one skipped."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT i.invitation_id, i.member_id, i.order_id, i.due_at
            FROM invitation i
            WHERE i.status = 'pending' AND i.due_at <= $1
            ORDER BY i.due_at, i.invitation_id LIMIT $4
            FOR UPDATE SKIP LOCKED
        ), facts AS (
            SELECT d.*,
                   CASE WHEN p.total > 0 AND coalesce(r.refunded, 0) >= p.total THEN 'refunded'
                        WHEN EXISTS (SELECT 1 FROM feedback f WHERE f.order_id = d.order_id)
                             THEN 'answered'
                        WHEN d.due_at + $3::interval < $1 THEN 'stale'
                   END AS skip
            FROM due d
            JOIN purchase p USING (order_id)
            LEFT JOIN LATERAL (
                SELECT sum(amount) AS refunded FROM refund WHERE refund.order_id = d.order_id
            ) r ON true
        ), candidates AS (
            SELECT DISTINCT ON (member_id) invitation_id, member_id
            FROM facts WHERE skip IS NULL
            ORDER BY member_id, due_at, invitation_id
        ), granted AS (
            INSERT INTO member_survey AS m (member_id, last_sent_at)
            SELECT member_id, $1 FROM candidates ORDER BY member_id
            ON CONFLICT (member_id) DO UPDATE SET last_sent_at = EXCLUDED.last_sent_at
            WHERE m.last_sent_at <= EXCLUDED.last_sent_at - $2::interval
            RETURNING member_id
        ), decided AS (
            SELECT f.invitation_id,
                   CASE WHEN f.skip IS NOT NULL THEN f.skip
                        WHEN g.member_id IS NULL THEN 'cooldown'
                   END AS skip
            FROM facts f
            LEFT JOIN candidates c USING (invitation_id)
            LEFT JOIN granted g ON g.member_id = c.member_id
            WHERE f.skip IS NOT NULL OR c.invitation_id IS NOT NULL
        ), updated AS (
            UPDATE invitation i
               SET status = CASE WHEN d.skip IS NULL THEN 'sent' ELSE 'skipped' END,
                   skip_reason = d.skip,
                   sent_at = CASE WHEN d.skip IS NULL THEN $1 END,
                   expires_at = CASE WHEN d.skip IS NULL THEN $1 + $3::interval END
              FROM decided d
             WHERE i.invitation_id = d.invitation_id
            RETURNING i.invitation_id, i.member_id, i.order_id, i.channel, i.purchased_at,
                      i.status, i.skip_reason, i.sent_at, i.expires_at
        )
        SELECT * FROM updated ORDER BY invitation_id
        """,
        now,
        cooldown,
        validity,
        limit,
    )
    columns = [field.name for field in fields(Sent)]
    sent = [Sent(**{c: r[c] for c in columns}) for r in rows if r["status"] == "sent"]
    return sent, [r["skip_reason"] for r in rows if r["status"] != "sent"]


async def invitation(conn: Connection, invitation_id: uuid.UUID) -> Invitation | None:
    row = await conn.fetchrow(
        """
        SELECT invitation_id, member_id, order_id, channel, status, expires_at
        FROM invitation WHERE invitation_id = $1
        """,
        invitation_id,
    )
    return Invitation(**row) if row else None
