"""The notification rows' life: claimed when due, attempted, then sent, failed or retried."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification row as the dispatcher claims it."""

    id: UUID
    member_id: str
    trigger: str
    channel: str
    causation_id: str | None
    payload: dict[str, Any]
    status: str
    due_at: datetime
    expires_at: datetime | None
    attempts: int
    in_doubt: bool
    created_at: datetime


COLUMNS = """n.id, n.member_id, n.trigger, n.channel, n.causation_id, n.payload, n.status,
             n.due_at, n.expires_at, n.attempts, n.in_doubt, n.created_at"""


async def give_up_in_doubt(conn: Connection, now: datetime, limit: int) -> list[Notification]:
    """Attempts abandoned twice (the process died during the send, then again during the one
    re-send): the member may have the message already, so it is not sent a third time."""
    rows = await conn.fetch(
        f"""
        UPDATE notification n
           SET status = 'failed', failed_at = $1, updated_at = $1, lease_until = NULL,
               reason = 'delivery-unknown: the attempt and its one re-send were interrupted'
         WHERE n.id = ANY(ARRAY(
               SELECT id FROM notification
               WHERE status = 'sending' AND lease_until <= $1 AND in_doubt
               LIMIT $2 FOR UPDATE SKIP LOCKED))
        RETURNING {COLUMNS}
        """,
        now,
        limit,
    )
    return [Notification(**row) for row in rows]


async def claim_due(conn: Connection, now: datetime, limit: int) -> list[Notification]:
    """Due rows, and attempts whose lease ran out (their process died mid-send), locked so no
    other replica takes them; the caller decides and records each before committing."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM notification n
        WHERE (n.status = 'scheduled' AND n.due_at <= $1)
           OR (n.status = 'sending' AND n.lease_until <= $1 AND NOT n.in_doubt)
        ORDER BY n.due_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        now,
        limit,
    )
    return [Notification(**row) for row in rows]


async def decide(
    conn: Connection,
    *,
    ids: Sequence[UUID],
    statuses: Sequence[str],
    reasons: Sequence[str | None],
    due_ats: Sequence[datetime | None],
    now: datetime,
    lease_until: datetime,
) -> dict[UUID, int]:
    """Record what happens to each claimed row: `sending` (the attempt is recorded: attempts + 1
    and a lease), `scheduled` (deferred to its new due time) or `suppressed`. A row taken back
    from an abandoned attempt is marked in doubt. Returns each row's attempt number."""
    rows = await conn.fetch(
        """
        UPDATE notification n
           SET status = d.status,
               reason = d.reason,
               due_at = coalesce(d.due_at, n.due_at),
               attempts = n.attempts + CASE WHEN d.status = 'sending' THEN 1 ELSE 0 END,
               lease_until = CASE WHEN d.status = 'sending' THEN $5::timestamptz END,
               last_attempt_at = CASE WHEN d.status = 'sending' THEN $6::timestamptz
                                      ELSE n.last_attempt_at END,
               in_doubt = n.in_doubt OR n.status = 'sending',
               updated_at = $6
          FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
               AS d (id, status, reason, due_at)
         WHERE n.id = d.id
        RETURNING n.id, n.attempts
        """,
        list(ids),
        list(statuses),
        list(reasons),
        list(due_ats),
        lease_until,
        now,
    )
    return {r["id"]: r["attempts"] for r in rows}


async def mark_sent(
    conn: Connection, attempts: Sequence[tuple[UUID, int]], now: datetime
) -> set[UUID]:
    """Marks each (id, attempt) sent; answers the ids it marked: not those whose attempt no longer
    owns the row (its lease ran out and it was taken back)."""
    rows = await conn.fetch(
        """
        UPDATE notification n
        SET status = 'sent', sent_at = $3, reason = NULL, lease_until = NULL, updated_at = $3
        FROM unnest($1::uuid[], $2::int[]) AS s(id, attempts)
        WHERE n.id = s.id AND n.attempts = s.attempts AND n.status = 'sending'
        RETURNING n.id
        """,
        [id for id, _ in attempts],
        [attempt for _, attempt in attempts],
        now,
    )
    return {row["id"] for row in rows}


async def mark_failed(conn: Connection, id: UUID, attempt: int, reason: str, now: datetime) -> bool:
    done = await conn.fetchval(
        """
        UPDATE notification SET status = 'failed', failed_at = $4, reason = $3,
                                lease_until = NULL, updated_at = $4
        WHERE id = $1 AND attempts = $2 AND status = 'sending'
        RETURNING 1
        """,
        id,
        attempt,
        reason,
        now,
    )
    return done is not None


async def mark_retry(
    conn: Connection, id: UUID, attempt: int, reason: str, due_at: datetime, now: datetime
) -> bool:
    done = await conn.fetchval(
        """
        UPDATE notification SET status = 'scheduled', due_at = $4, reason = $3,
                                lease_until = NULL, updated_at = $5
        WHERE id = $1 AND attempts = $2 AND status = 'sending'
        RETURNING 1
        """,
        id,
        attempt,
        reason,
        due_at,
        now,
    )
    return done is not None
