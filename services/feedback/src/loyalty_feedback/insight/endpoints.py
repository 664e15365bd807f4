"""GET /v1/members/{member_id}/insight (the member, support, admin) and GET
/v1/insights/segments (marketing)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, Request

from loyalty_feedback.insight import repository
from loyalty_feedback.insight.schemas import MemberInsight, Segments, SegmentStats
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.auth import MarketingAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import problem_responses
from loyalty_shared.program.schema import Program

router = APIRouter(tags=["insight"])


@router.get(
    "/v1/members/{member_id}/insight",
    summary="A member's RFM scores, segment, CLV and loyalty index, computed now",
    description="A member without purchases has zeros and no segment, not 404.",
    responses=problem_responses(401, 403),
)
async def get_insight(
    member_id: str, _: AuditedMemberRead, conn: ReadOnly, request: Request
) -> MemberInsight:
    program: Program = request.app.state.program
    now = datetime.now(UTC)
    [row] = await repository.compute(conn, [member_id], now=now, currency=program.currency)
    seen = row["purchases"] > 0
    return MemberInsight(
        member_id=member_id,
        segment=row["segment"] if seen else None,
        recency_days=row["recency_days"],
        frequency=row["frequency"],
        monetary=row["monetary"],
        r_score=row["r_score"],
        f_score=row["f_score"],
        m_score=row["m_score"],
        orders=row["orders"],
        repeat_customer=row["orders"] >= 2,
        clv=row["clv"],
        average_order_value=(
            (Decimal(row["clv"]) / row["orders"]).quantize(Decimal("0.01"))
            if row["orders"]
            else None
        ),
        latest_nps_score=row["latest_score"],
        loyalty_index=row["loyalty_index"] if seen else 0,
        as_of=now,
    )


@router.get(
    "/v1/insights/segments",
    summary="Members per RFM segment with their behaviour and NPS (marketing)",
    description="As of the last scheduled recompute (`computed_at`).",
    responses=problem_responses(401, 403),
)
async def get_segments(_: MarketingAccess, conn: ReadOnly) -> Segments:
    rows = await repository.segments(conn, now=datetime.now(UTC))
    items = [SegmentStats(**dict(r)) for r in rows]
    members = sum(item.members for item in items)
    repeaters = sum(r["repeaters"] for r in rows)
    return Segments(
        items=items,
        members=members,
        repeat_purchase_rate=round(100 * repeaters / members, 1) if members else None,
    )
