"""A member's notifications, newest first, by keyset (the row's sequence number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    id: UUID
    trigger: str
    channel: str
    status: str
    reason: str | None
    attempts: int
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    causation_id: str | None


async def page(
    conn: Connection,
    member_id: str,
    *,
    before: int | None,
    limit: int,
    staff_triggers: list[str],
) -> list[Entry]:
    rows = await conn.fetch(
        """
        SELECT seq, id, trigger, channel, status, reason, attempts, due_at, created_at,
               updated_at, sent_at, failed_at, causation_id
        FROM notification
        WHERE member_id = $1 AND ($2::bigint IS NULL OR seq < $2)
          AND trigger <> ALL($4::text[])
        ORDER BY seq DESC
        LIMIT $3
        """,
        member_id,
        before,
        limit,
        staff_triggers,
    )
    return [Entry(**row) for row in rows]
