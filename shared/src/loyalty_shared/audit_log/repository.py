"""The audit log's SQL: appending entries, reading them newest first by keyset (the id)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from loyalty_shared.audit_log.schemas import AuditEntry
from loyalty_shared.db import Connection, Pool


async def append(
    conn: Connection | Pool,
    *,
    recorded_at: datetime,
    actor: str,
    scope: str | None,
    action: str,
    member_ids: Sequence[str | None],
    details: Mapping[str, Any],
    trace_id: str | None,
) -> None:
    """One entry per member id, in one statement."""
    await conn.execute(
        """
        INSERT INTO audit_log (recorded_at, actor, scope, action, member_id, details, trace_id)
        SELECT $1, $2, $3, $4, m.member_id, $6, $7
        FROM unnest($5::text[]) WITH ORDINALITY AS m (member_id, n)
        ORDER BY n
        """,
        recorded_at,
        actor,
        scope,
        action,
        list(member_ids),
        details,
        trace_id,
    )


async def page(
    conn: Connection | Pool,
    *,
    member_id: str | None,
    actor: str | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEntry]:
    rows = await conn.fetch(
        """
        SELECT id, recorded_at, actor, scope, action, member_id, details, trace_id
        FROM audit_log
        WHERE ($1::text IS NULL OR member_id = $1)
          AND ($2::text IS NULL OR actor = $2)
          AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC
        LIMIT $4
        """,
        member_id,
        actor,
        before_id,
        limit,
    )
    return [AuditEntry(**dict(row)) for row in rows]
