"""GET /v1/reports/points-flow (marketing): points earned, redeemed, expired, reversed and
adjusted per week, the program's whole ledger, no member named."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_points.activity import repository
from loyalty_points.activity.schemas import PointsFlow, WeekOfPoints
from loyalty_points.state import State
from loyalty_shared.http.auth import MarketingAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/points-flow",
    summary="Points earned, redeemed, expired, reversed and adjusted per week (marketing)",
    description=(
        "The last `weeks` ISO weeks (UTC), this one included, by when each ledger entry took "
        "effect (a purchase's time, an expiry's date); weeks without entries are zeros."
    ),
    responses=problem_responses(401, 403),
)
async def points_flow(
    _: MarketingAccess,
    conn: ReadOnly,
    state: State,
    weeks: Annotated[int, Query(ge=1, le=104)] = 12,
) -> PointsFlow:
    today = state.clock().date()
    this_monday = today - timedelta(days=today.weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    rows = await repository.weekly(conn, first_monday=first, weeks=weeks)
    return PointsFlow(
        weeks=weeks, items=[WeekOfPoints.model_validate(r, from_attributes=True) for r in rows]
    )
