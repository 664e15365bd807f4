"""A member's insight (the member, support or admin) and the program-wide insight reports
(marketing or admin, no one's personal data)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_feedback.insight import repository, service
from loyalty_feedback.insight.schemas import (
    ClvBucket,
    ClvDistribution,
    Cohort,
    IndexDay,
    LoyaltyIndexReport,
    MemberInsight,
    Retention,
    Segments,
    TierIndex,
)
from loyalty_feedback.state import State
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.auth import MarketingAccess
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
    member_id: str, _: AuditedMemberRead, conn: ReadOnly, state: State
) -> MemberInsight:
    return await service.insight_of(conn, state.program, member_id, state.clock())


@router.get(
    "/v1/insights/segments",
    summary="Members per RFM segment with their behaviour and NPS (marketing)",
    description="As of the last scheduled recompute (`computed_at`).",
    responses=problem_responses(401, 403),
)
async def get_segments(_: MarketingAccess, conn: ReadOnly, state: State) -> Segments:
    return await service.segments(conn, state.clock())


#: CLV buckets in the program currency: the lower edge of each (the last one is open).
CLV_EDGES = tuple(Decimal(v) for v in (0, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000))


@router.get(
    "/v1/insights/retention",
    summary="Retention by first-purchase month: the cohort table (marketing)",
    description=(
        "Members grouped by the month (UTC) of their first purchase over the last `months` "
        "months; for each cohort, the % of its members who bought in each month since."
    ),
    responses=problem_responses(401, 403),
)
async def get_retention(
    _: MarketingAccess,
    conn: ReadOnly,
    state: State,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
) -> Retention:
    now = state.clock()
    index = now.year * 12 + now.month - 1 - (months - 1)
    first = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    rows = await repository.cohorts(conn, first_month=first)
    cohorts: dict[str, dict[int, int]] = {}
    for row in rows:
        cohorts.setdefault(row.cohort, {})[row.month_number] = row.members
    this_month = now.year * 12 + now.month - 1
    result = []
    for name, counts in cohorts.items():
        year, month = (int(part) for part in name.split("-"))
        span = this_month - (year * 12 + month - 1) + 1
        size = counts[0]
        result.append(
            Cohort(
                cohort=name,
                members=size,
                retention=[round(100 * counts.get(k, 0) / size, 1) for k in range(span)],
            )
        )
    return Retention(months=months, cohorts=result)


@router.get(
    "/v1/insights/clv",
    summary="How historic CLV is spread over the members (marketing)",
    description="As of the last scheduled recompute: buckets in the program currency, percentiles.",
    responses=problem_responses(401, 403),
)
async def get_clv(_: MarketingAccess, conn: ReadOnly, state: State) -> ClvDistribution:
    program = state.program
    spread = await repository.clv_distribution(conn, CLV_EDGES)
    bounds = [*CLV_EDGES, None]
    percentiles: Sequence[float | None] = spread.percentiles or [None] * 4
    return ClvDistribution(
        currency=program.currency,
        members=spread.members,
        average=spread.average,
        percentiles={
            name: None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))
            for name, value in zip(("p25", "p50", "p75", "p90"), percentiles, strict=True)
        },
        buckets=[
            ClvBucket(low=low, high=bounds[i + 1], members=spread.by_bucket.get(i + 1, 0))
            for i, low in enumerate(CLV_EDGES)
        ],
        computed_at=spread.computed_at,
    )


@router.get(
    "/v1/insights/loyalty-index",
    summary="The loyalty index by tier, and its trend per day (marketing)",
    description=(
        "`by_tier` as of the last recompute; `trend`, the average per tier recorded by each "
        "day's recomputes over the last `days` days."
    ),
    responses=problem_responses(401, 403),
)
async def get_loyalty_index(
    _: MarketingAccess,
    conn: ReadOnly,
    state: State,
    days: Annotated[int, Query(ge=1, le=730)] = 90,
) -> LoyaltyIndexReport:
    program = state.program
    rows = await repository.index_by_tier(conn, base_tier=program.base_tier.name)
    counted = {row.tier: row for row in rows}
    ladder = [tier.name for tier in program.tiers.ladder]
    by_tier = [
        TierIndex(
            tier=name,
            members=counted[name].members if name in counted else 0,
            average=counted[name].average if name in counted else None,
        )
        for name in [*ladder, *sorted(set(counted) - set(ladder))]
    ]
    since = state.clock().date() - timedelta(days=days)
    recorded = await repository.index_days(conn, since=since)
    trend = [IndexDay.model_validate(row, from_attributes=True) for row in recorded]
    return LoyaltyIndexReport(by_tier=by_tier, trend=trend)
