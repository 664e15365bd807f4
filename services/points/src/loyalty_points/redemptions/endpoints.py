"""POST /v1/members/{member_id}/redemptions and their cancellation."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, status

from loyalty_points.redemptions import service
from loyalty_points.redemptions.errors import MissingIdempotencyKey
from loyalty_points.redemptions.schemas import Redemption, RedemptionCreate
from loyalty_shared import audit_log
from loyalty_shared.http.auth import AdminAccess, MemberAccess, Principal
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/redemptions", tags=["redemptions"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Required. The same key with the same body answers the same again and "
        "spends once; with another body it is 422.",
    ),
]


def actor_of(principal: Principal, member_id: str) -> str:
    """Who moved the points, for the ledger: the member, or an admin acting for them."""
    return f"{'admin' if principal.subject != member_id else 'member'}:{principal.subject}"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Spend points",
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def redeem(
    member_id: str,
    body: RedemptionCreate,
    principal: MemberAccess,
    conn: Transaction,
    idempotency_key: IdempotencyKey = None,
) -> Redemption:
    if not idempotency_key:
        raise MissingIdempotencyKey("send an Idempotency-Key header (a UUID per attempt)")
    redemption = await service.redeem(
        conn,
        member_id=member_id,
        key=idempotency_key,
        request=body,
        actor=actor_of(principal, member_id),
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
)
async def cancel(
    member_id: str, redemption_id: UUID, principal: AdminAccess, conn: Transaction
) -> Redemption:
    redemption = await service.cancel(
        conn, member_id=member_id, redemption_id=redemption_id, actor=f"admin:{principal.subject}"
    )
    await audit_log.record(
        conn,
        principal=principal,
        action="points.redemption_cancel",
        member_id=member_id,
        details={"redemption_id": str(redemption_id), "points": redemption.points},
    )
    return redemption
