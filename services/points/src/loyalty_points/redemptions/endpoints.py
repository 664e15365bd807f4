"""POST /v1/members/{member_id}/redemptions and their cancellation."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from loyalty_points.redemptions import service
from loyalty_points.redemptions.schemas import Redemption, RedemptionCreate
from loyalty_points.spending.http import IdempotencyKey, actor_of, required
from loyalty_points.state import State
from loyalty_shared import audit_log
from loyalty_shared.http.auth import AdminAccess, MemberAccess
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/redemptions", tags=["redemptions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Spend points",
    responses=problem_responses(400, 401, 403, 409, 422),
    operation_id="createRedemption",
)
async def redeem(
    member_id: str,
    body: RedemptionCreate,
    principal: MemberAccess,
    conn: Transaction,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> Redemption:
    redemption = await service.redeem(
        conn,
        member_id=member_id,
        key=required(idempotency_key),
        request=body,
        actor=actor_of(principal, member_id),
        expiry=state.expiry,
        now=state.clock(),
    )
    await audit_log.record_operator(
        conn,
        principal=principal,
        action="points.redeem",
        member_id=member_id,
        details={"redemption_id": str(redemption.id), "points": redemption.points},
    )
    return redemption


@router.post(
    "/{redemption_id}/cancellation",
    summary="Cancel a redemption (admin): the points return to their lots",
    responses=problem_responses(401, 403, 404),
    operation_id="cancelRedemption",
)
async def cancel(
    member_id: str, redemption_id: UUID, principal: AdminAccess, conn: Transaction, state: State
) -> Redemption:
    redemption = await service.cancel(
        conn,
        member_id=member_id,
        redemption_id=redemption_id,
        actor=f"admin:{principal.subject}",
        now=state.clock(),
    )
    await audit_log.record(
        conn,
        principal=principal,
        action="points.redemption_cancel",
        member_id=member_id,
        details={"redemption_id": str(redemption_id), "points": redemption.points},
    )
    return redemption
