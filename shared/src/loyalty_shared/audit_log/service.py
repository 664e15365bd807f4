"""Recording an action in the audit log, in the transaction of the change it records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from loyalty_shared.audit_log import repository
from loyalty_shared.clock import system_clock
from loyalty_shared.db import Connection, Pool
from loyalty_shared.http.auth import Principal
from loyalty_shared.observability.tracing import current_trace_id


async def record(
    conn: Connection | Pool,
    *,
    principal: Principal,
    action: str,
    member_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    trace_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Append who (`principal.subject`, the scope it acts under), `action` (`points.adjust`),
    whose data and `details` (JSON; ids and figures, never free text). `trace_id` defaults to
    the current request's; `at` to now. Pass the connection of the change's transaction."""
    await record_each(
        conn,
        principal=principal,
        action=action,
        member_ids=[member_id],
        details=details,
        trace_id=trace_id,
        at=at,
    )


async def record_operator(
    conn: Connection | Pool,
    *,
    principal: Principal,
    action: str,
    member_id: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """`record`, for an endpoint both the member and operators may call: nothing is recorded when
    the member acts on their own data (`principal.acting_as` is None)."""
    if principal.acting_as is not None:
        await record(
            conn, principal=principal, action=action, member_id=member_id, details=details, at=at
        )


async def record_each(
    conn: Connection | Pool,
    *,
    principal: Principal,
    action: str,
    member_ids: Sequence[str | None],
    details: Mapping[str, Any] | None = None,
    trace_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """`record` once per member (an operator's search showing several members' data)."""
    if not member_ids:
        return
    await repository.append(
        conn,
        recorded_at=at or system_clock(),
        actor=principal.subject,
        scope=principal.acting_as,
        action=action,
        member_ids=member_ids,
        details=details or {},
        trace_id=trace_id or current_trace_id(),
    )
