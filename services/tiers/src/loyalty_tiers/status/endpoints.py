"""GET /v1/members/{member_id}/tier, its history, and the admin override."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.auth import AdminAccess, MemberIdPath
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.problems import problem_responses
from loyalty_tiers.state import State
from loyalty_tiers.status import service
from loyalty_tiers.status.schemas import TierHistory, TierOverride, TierStatus

router = APIRouter(prefix="/v1/members/{member_id}/tier", tags=["tiers"])


@router.get(
    "",
    summary="A member's tier, spend, what the next tier needs and what keeps this one",
    description="A member never seen is on the base tier with zero spend, not 404.",
    responses=problem_responses(401, 403),
)
async def get_tier(
    member_id: str, _: AuditedMemberRead, conn: ReadOnly, state: State
) -> TierStatus:
    return await service.status_of(conn, state.program, member_id, state.clock())


@router.get("/history", summary="Tier changes, newest first", responses=problem_responses(401, 403))
async def get_history(
    member_id: str,
    _: AuditedMemberRead,
    conn: ReadOnly,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TierHistory:
    return await service.history(conn, member_id, limit)


@router.put(
    "",
    summary="Set a tier by hand until a date (admin): status match, service recovery",
    responses=problem_responses(401, 403),
)
async def override_tier(
    member_id: MemberIdPath,
    body: TierOverride,
    principal: AdminAccess,
    conn: Transaction,
    state: State,
) -> TierStatus:
    held = await service.override(
        conn,
        state.program,
        member_id=member_id,
        body=body,
        principal=principal,
        now=state.clock(),
    )
    return held
