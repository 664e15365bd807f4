"""POST /v1/members/{member_id}/adjustments (admin)."""

from __future__ import annotations

from fastapi import APIRouter, status

from loyalty_points.adjustments import service
from loyalty_points.adjustments.schemas import Adjustment, AdjustmentCreate
from loyalty_points.state import State
from loyalty_shared.http.auth import AdminAccess, MemberIdPath
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/adjustments", tags=["adjustments"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Grant or take points by hand (admin), with a reason, in the ledger",
    responses=problem_responses(401, 403),
)
async def adjust(
    member_id: MemberIdPath,
    body: AdjustmentCreate,
    principal: AdminAccess,
    conn: Transaction,
    state: State,
) -> Adjustment:
    return await service.adjust(
        conn,
        member_id=member_id,
        request=body,
        actor=f"admin:{principal.subject}",
        program=state.program,
        now=state.clock(),
    )
