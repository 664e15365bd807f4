"""GET /v1/program: the program in force; POST /v1/program/simulate: what a purchase would
earn, rule by rule, without earning it (marketing or admin)."""

from __future__ import annotations

from fastapi import APIRouter

from loyalty_points.campaigns import repository as campaigns
from loyalty_points.campaigns.campaign import rules_with
from loyalty_points.campaigns.service import draft, program_with
from loyalty_points.simulation.schemas import RuleApplied, Simulation, SimulationRequest
from loyalty_points.state import State
from loyalty_points.tier_projection.repository import current_tiers
from loyalty_shared.http.auth import MarketingAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import ProblemError, problem_responses
from loyalty_shared.program.loader import load_program
from loyalty_shared.program.schema import Program

router = APIRouter(prefix="/v1/program", tags=["program"])


class UnknownTier(ProblemError):
    status = 422
    title = "Unknown tier"
    type = "urn:loyalty:problem:unknown-tier"


@router.get(
    "",
    summary="The program in force, as JSON (marketing)",
    description=(
        "The program file with the campaigns started at run time that are in force now "
        "added to its `earning.campaigns` (local times in the program's `time_zone`): the "
        "shape `POST /v1/program/backtest` and `POST /v1/program/simulate` take."
    ),
    responses={
        200: {"content": {"application/json": {"example": load_program().model_dump(mode="json")}}},
        **problem_responses(401, 403),
    },
)
async def program_in_force(_: MarketingAccess, conn: ReadOnly, state: State) -> Program:
    return (await state.in_force.rules(conn, state.clock())).program


@router.post(
    "/simulate",
    summary="What a purchase would earn, rule by rule (marketing)",
    description=(
        "Runs the earning rules on a purchase as the consumer would if the "
        "`purchase.completed` arrived now, and writes nothing: under the program in force "
        "(with the campaigns started at run time), or under `program`, with a draft "
        "`campaign` added if given."
    ),
    responses=problem_responses(401, 403, 422),
)
async def simulate(
    body: SimulationRequest, _: MarketingAccess, conn: ReadOnly, state: State
) -> Simulation:
    now = state.clock()
    program = body.program or state.program
    in_force = [] if body.program else await campaigns.in_force(conn, now)
    if body.campaign is not None:
        campaign = draft(body.campaign)
        program_with(program, in_force, campaign, at=("body", "campaign"))
        in_force = [c for c in in_force if c.campaign_id != campaign.campaign_id] + [campaign]
    rules = rules_with(program, in_force)
    tier = body.tier
    if tier is None:
        known = await current_tiers(conn, [body.purchase.member_id])
        tier = known.get(body.purchase.member_id, program.base_tier.name)
    elif program.tier(tier) is None:
        names = ", ".join(t.name for t in program.tiers.ladder)
        raise UnknownTier(f"tier {tier!r} is not in the program ({names})")
    earn = rules.earn(body.purchase, purchased_at=body.time, tier=tier)
    return Simulation(
        member_id=body.purchase.member_id,
        tier=earn.tier,
        points=earn.points,
        available_at=earn.available_at,
        expires_at=earn.expires_at,
        rules=[RuleApplied(**line.as_json()) for line in earn.lines],
    )
