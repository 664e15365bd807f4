"""GET /v1/members/{member_id}/points."""

from __future__ import annotations

from fastapi import APIRouter, Request

from loyalty_points.balances import repository
from loyalty_points.balances.schemas import ExpiringPoints, PointsBalance
from loyalty_shared.http.auth import MemberAccess
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}", tags=["points"])


@router.get(
    "/points",
    response_model=PointsBalance,
    summary="A member's points balance",
    description="A member never seen has zeros, not 404.",
    responses=problem_responses(401, 403),
)
async def get_points(member_id: str, request: Request, _: MemberAccess) -> PointsBalance:
    async with request.app.state.pool.acquire() as conn, conn.transaction(readonly=True):
        row = await repository.balance(conn, member_id)
        lots = await repository.expiring(conn, member_id)
    return PointsBalance(
        member_id=member_id,
        available=row["available"] if row else 0,
        pending=row["pending"] if row else 0,
        lifetime_earned=row["lifetime_earned"] if row else 0,
        expiring=[ExpiringPoints(points=r["points"], expires_at=r["expires_at"]) for r in lots],
    )
