"""POST /v1/program/simulate: what a purchase would earn, rule by rule, without earning it."""

from __future__ import annotations

from fastapi import APIRouter, Request

from loyalty_points.earning.rules import earn_for
from loyalty_points.simulation.schemas import RuleApplied, Simulation, SimulationRequest
from loyalty_points.tier_projection.repository import current_tiers
from loyalty_shared.http.auth import MarketingAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import ProblemError, problem_responses
from loyalty_shared.program.schema import Program

router = APIRouter(prefix="/v1/program", tags=["program"])


class UnknownTier(ProblemError):
    status = 422
    title = "Unknown tier"
    type = "urn:loyalty:problem:unknown-tier"


@router.post(
    "/simulate",
    summary="What a purchase would earn, rule by rule (marketing)",
    description=(
        "Runs the earning rules of the program this service runs on a purchase, as the consumer "
        "would when the `purchase.completed` arrives, and writes nothing."
    ),
    responses=problem_responses(401, 403, 422),
)
async def simulate(
    body: SimulationRequest, _: MarketingAccess, conn: ReadOnly, request: Request
) -> Simulation:
    program: Program = request.app.state.program
    tier = body.tier
    if tier is None:
        known = await current_tiers(conn, [body.purchase.member_id])
        tier = known.get(body.purchase.member_id, program.base_tier.name)
    elif program.tier(tier) is None:
        names = ", ".join(t.name for t in program.tiers.ladder)
        raise UnknownTier(f"tier {tier!r} is not in the program ({names})")
    earn = earn_for(body.purchase, purchased_at=body.time, tier=tier, program=program)
    return Simulation(
        member_id=body.purchase.member_id,
        tier=earn.tier,
        points=earn.points,
        available_at=earn.available_at,
        expires_at=earn.expires_at,
        rules=[RuleApplied(**line.as_json()) for line in earn.lines],
    )
