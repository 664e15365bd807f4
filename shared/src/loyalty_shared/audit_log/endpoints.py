"""GET /v1/audit-log (admin), included by every service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_shared.audit_log import repository
from loyalty_shared.audit_log.schemas import AuditPage
from loyalty_shared.http.auth import AdminAccess, MemberId
from loyalty_shared.http.db import SingleStatement
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/audit-log", tags=["audit"])


@router.get(
    "",
    summary="Who did what to which member, newest first, cursor-paged (admin)",
    description=(
        "Every change made under an operator scope, every export and every operator read of a "
        "member's data on this service, each recorded in the transaction that made the change."
    ),
    responses=problem_responses(401, 403),
)
async def list_audit_log(
    _: AdminAccess,
    pool: SingleStatement,
    member_id: Annotated[
        MemberId | None, Query(description="Only entries about this member")
    ] = None,
    actor: Annotated[MemberId | None, Query(description="Only entries by this `sub`")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: PageCursor = None,
) -> AuditPage:
    entries = await repository.page(
        pool, member_id=member_id, actor=actor, before_id=before_id(cursor), limit=limit + 1
    )
    more = len(entries) > limit
    return AuditPage(
        items=entries[:limit], next_cursor=str(entries[limit - 1].id) if more else None
    )
