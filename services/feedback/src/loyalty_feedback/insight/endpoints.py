"""GET /v1/members/{member_id}/insight (member or admin) and GET /v1/insights/segments (admin)."""

from __future__ import annotations

from fastapi import APIRouter

from loyalty_feedback.insight import service
from loyalty_feedback.insight.schemas import MemberInsight, Segments
from loyalty_feedback.state import State
from loyalty_shared.http.auth import AdminAccess, MemberAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import problem_responses

router = APIRouter(tags=["insight"])


@router.get(
    "/v1/members/{member_id}/insight",
    summary="A member's RFM scores, segment, CLV and loyalty index, computed now",
    description="A member without purchases has zeros and no segment, not 404.",
    responses=problem_responses(401, 403),
)
async def get_insight(
    member_id: str, _: MemberAccess, conn: ReadOnly, state: State
) -> MemberInsight:
    return await service.insight_of(conn, state.program, member_id, state.clock())


@router.get(
    "/v1/insights/segments",
    summary="Members per RFM segment with their behaviour and NPS (admin)",
    description="As of the last scheduled recompute (`computed_at`).",
    responses=problem_responses(401, 403),
)
async def get_segments(_: AdminAccess, conn: ReadOnly, state: State) -> Segments:
    return await service.segments(conn, state.clock())
