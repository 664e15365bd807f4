"""GET /v1/members/{member_id}/tier, its history, and the admin override."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request

from loyalty_shared import audit_log
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.auth import AdminAccess, MemberIdPath
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.problems import ProblemError, problem_responses
from loyalty_shared.program.schema import Program
from loyalty_tiers import ladder
from loyalty_tiers.events import emit, tier_changed
from loyalty_tiers.status import repository
from loyalty_tiers.status.schemas import (
    Benefit,
    KeepTier,
    TierChange,
    TierHistory,
    TierOverride,
    TierStatus,
)

router = APIRouter(prefix="/v1/members/{member_id}/tier", tags=["tiers"])


class UnknownTier(ProblemError):
    status = 422
    title = "No such tier in the program"
    type = "urn:loyalty:problem:unknown-tier"


def _program(request: Request) -> Program:
    program: Program = request.app.state.program
    return program


@router.get(
    "",
    summary="A member's tier, spend, what the next tier needs and what keeps this one",
    description="A member never seen is on the base tier with zero spend, not 404.",
    responses=problem_responses(401, 403),
)
async def get_tier(
    member_id: str, _: AuditedMemberRead, conn: ReadOnly, request: Request
) -> TierStatus:
    program = _program(request)
    now = datetime.now(UTC)
    window = timedelta(days=program.tiers.qualifying_window_days)
    spend = await repository.spend_since(conn, member_id, (now - window).date())
    row = await repository.tier_of(conn, member_id)
    name = row["tier"] if row else program.base_tier.name
    tier = program.tier(name) or program.base_tier
    upper = ladder.next_tier(program, tier.name)
    keep = None
    if row is not None and tier.threshold > 0:
        # what will still count at the evaluation on `valid_until`, and what is missing
        evaluation = max(row["valid_until"], now)
        counted = await repository.spend_since(conn, member_id, (evaluation - window).date())
        keep = KeepTier(spend_needed=max(Decimal(0), tier.threshold - counted), by=evaluation)
    return TierStatus(
        member_id=member_id,
        tier=tier.name,
        qualifying_spend=spend,
        next_tier=upper.name if upper else None,
        spend_to_next_tier=max(Decimal(0), upper.threshold - spend) if upper else None,
        tier_valid_until=row["valid_until"] if row else None,
        multiplier=tier.multiplier,
        benefits=[Benefit(id=b.id, name=b.name) for b in tier.benefits],
        keep=keep,
        override_until=row["override_until"] if row else None,
    )


@router.get("/history", summary="Tier changes, newest first", responses=problem_responses(401, 403))
async def get_history(
    member_id: str,
    _: AuditedMemberRead,
    conn: ReadOnly,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TierHistory:
    rows = await repository.history(conn, member_id, limit)
    return TierHistory(items=[TierChange(**dict(r)) for r in rows])


@router.put(
    "",
    summary="Set a tier by hand until a date (admin): status match, service recovery",
    responses=problem_responses(401, 403),
)
async def override_tier(
    member_id: MemberIdPath,
    body: TierOverride,
    principal: AdminAccess,
    conn: Transaction,
    request: Request,
) -> TierStatus:
    program = _program(request)
    if program.tier(body.tier) is None:
        raise UnknownTier(f"{body.tier!r} is not one of {[t.name for t in program.tiers.ladder]}")
    now = datetime.now(UTC)
    if body.expires_at <= now:
        raise ProblemError("expires_at must be in the future")
    row = await repository.tier_of(conn, member_id)
    held = row["tier"] if row else program.base_tier.name
    window = timedelta(days=program.tiers.qualifying_window_days)
    spend = await repository.spend_since(conn, member_id, (now - window).date())
    change = tier_changed(
        program,
        member_id=member_id,
        from_tier=held,
        to_tier=body.tier,
        reason="admin",
        spend=spend,
        valid_until=body.expires_at,
        cause=f"override:{principal.subject}:{now.isoformat()}",
    )
    await repository.set_override(
        conn,
        member_id=member_id,
        tier=body.tier,
        reason=f"{body.reason} (by {principal.subject})",
        until=body.expires_at,
        now=now,
        spend=spend,
        from_tier=held,
        direction=change.data["direction"],
    )
    await emit(conn, [change])
    await audit_log.record(
        conn,
        principal=principal,
        action="tier.override",
        member_id=member_id,
        details={"from_tier": held, "tier": body.tier, "until": body.expires_at.isoformat()},
        at=now,
    )
    return await get_tier(member_id, principal, conn, request)
