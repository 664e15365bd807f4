"""GET /v1/members/{member_id}/points."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from loyalty_points.balances import repository
from loyalty_points.balances.schemas import ExpiringPoints, PointsBalance
from loyalty_shared.http.auth import MemberAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}", tags=["points"])


@router.get(
    "/points",
    response_model=PointsBalance,
    response_model_exclude_none=True,
    summary="A member's points balance",
    description=(
        "A member never seen has zeros, not 404. With `as_of`, the balances as the ledger had "
        "recorded them at that time, so a dispute can be answered from the API alone."
    ),
    responses=problem_responses(401, 403),
)
async def get_points(
    member_id: str,
    _: MemberAccess,
    conn: ReadOnly,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="Answer with the balances the ledger had recorded at this time"),
    ] = None,
) -> PointsBalance:
    if as_of is not None:
        then = await repository.balance_as_of(conn, member_id, as_of)
        return PointsBalance(member_id=member_id, expiring=[], as_of=as_of, **dict(then))
    row = await repository.balance(conn, member_id)
    lots = await repository.expiring(conn, member_id)
    return PointsBalance(
        member_id=member_id,
        available=row["available"] if row else 0,
        pending=row["pending"] if row else 0,
        lifetime_earned=row["lifetime_earned"] if row else 0,
        held=row["held"] if row else 0,
        expiring=[ExpiringPoints(points=r["points"], expires_at=r["expires_at"]) for r in lots],
    )
