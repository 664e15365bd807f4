"""Reading the ledger, newest first, by keyset (the entry id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from loyalty_points.ledger.repository import EntryKind
from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: EntryKind
    available_delta: int
    pending_delta: int
    held_delta: int
    cause_event_id: str | None
    order_id: str | None
    redemption_id: UUID | None
    hold_id: UUID | None
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    details: dict[str, Any]


async def page(
    conn: Connection,
    member_id: str,
    *,
    before_id: int | None,
    limit: int,
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
) -> list[Entry]:
    rows = await conn.fetch(
        """
        SELECT id, kind, available_delta, pending_delta, held_delta, cause_event_id, order_id,
               redemption_id, hold_id, actor, occurred_at, recorded_at, details
        FROM ledger_entry
        WHERE member_id = $1 AND ($2::bigint IS NULL OR id < $2)
          AND ($4::timestamptz IS NULL OR occurred_at >= $4)
          AND ($5::timestamptz IS NULL OR occurred_at < $5)
        ORDER BY id DESC
        LIMIT $3
        """,
        member_id,
        before_id,
        limit,
        occurred_from,
        occurred_to,
    )
    return [Entry(**dict(row)) for row in rows]
