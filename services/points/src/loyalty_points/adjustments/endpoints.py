"""POST /v1/members/{member_id}/adjustments (support within its limit, or admin)."""

from __future__ import annotations

from fastapi import APIRouter, status

from loyalty_points.adjustments import service
from loyalty_points.adjustments.errors import OverSupportLimit
from loyalty_points.adjustments.schemas import Adjustment, AdjustmentCreate
from loyalty_points.state import State
from loyalty_shared import audit_log
from loyalty_shared.http.auth import SUPPORT_SCOPE, MemberIdPath, SupportAccess
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/adjustments", tags=["adjustments"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Grant or take points by hand, with a reason, in the ledger",
    description=(
        "`loyalty:support` may grant or take at most the program's `support_adjustment_limit` "
        "(5,000 by default) per call; more is 403 (`over-support-limit`) and changes nothing. "
        "Recorded in the audit log (`points.adjust`)."
    ),
    responses=problem_responses(401, 403),
    operation_id="createAdjustment",
)
async def adjust(
    member_id: MemberIdPath,
    body: AdjustmentCreate,
    principal: SupportAccess,
    conn: Transaction,
    state: State,
) -> Adjustment:
    limit = state.program.support_adjustment_limit
    if principal.acting_as == SUPPORT_SCOPE and abs(body.points) > limit:
        raise OverSupportLimit(f"support may adjust at most {limit} points in one call")
    adjustment = await service.adjust(
        conn,
        member_id=member_id,
        request=body,
        actor=f"{principal.role}:{principal.subject}",
        program=state.program,
        now=state.clock(),
    )
    await audit_log.record(
        conn,
        principal=principal,
        action="points.adjust",
        member_id=member_id,
        details={"points": body.points, "entry_id": adjustment.id},
        at=adjustment.created_at,
    )
    return adjustment
