"""GET /v1/reports/members (marketing): members, active members and the tier mix, no one's
personal data."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from loyalty_shared.http.auth import MarketingAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import problem_responses
from loyalty_tiers.reports import repository
from loyalty_tiers.reports.schemas import MembersReport, TierShare
from loyalty_tiers.state import State

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/members",
    summary="Members, active members (30 and 90 days) and members per tier (marketing)",
    description=(
        "A member is anyone who bought (or was given a tier); active, who bought in the last 30 "
        "or 90 days (UTC days). Every tier of the program is listed, lowest first."
    ),
    responses=problem_responses(401, 403),
)
async def members_report(_: MarketingAccess, conn: ReadOnly, state: State) -> MembersReport:
    program = state.program
    now = state.clock()
    today = now.date()
    rows = await repository.members_by_tier(
        conn,
        base_tier=program.base_tier.name,
        active_since=(today - timedelta(days=30), today - timedelta(days=90)),
    )
    counts = {row.tier: row.members for row in rows}
    total = sum(counts.values())
    ladder = [tier.name for tier in program.tiers.ladder]
    tiers = [
        TierShare(
            tier=name,
            members=counts.get(name, 0),
            share=round(100 * counts.get(name, 0) / total, 1) if total else 0.0,
        )
        for name in [*ladder, *sorted(set(counts) - set(ladder))]
    ]
    return MembersReport(
        as_of=now,
        members=total,
        active_30_days=sum(row.active_recent for row in rows),
        active_90_days=sum(row.active_longer for row in rows),
        tiers=tiers,
    )
