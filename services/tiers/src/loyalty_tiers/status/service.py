"""A member's tier as the app reads it, and the admin override (events through the outbox)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from loyalty_shared import audit_log
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import Principal
from loyalty_shared.http.problems import ProblemError
from loyalty_shared.program.schema import Program
from loyalty_tiers import ladder
from loyalty_tiers.events import emit, tier_changed
from loyalty_tiers.status import repository
from loyalty_tiers.status.errors import UnknownTier
from loyalty_tiers.status.schemas import (
    Benefit,
    KeepTier,
    TierChange,
    TierHistory,
    TierOverride,
    TierStatus,
)


async def status_of(
    conn: Connection, program: Program, member_id: str, now: datetime
) -> TierStatus:
    window = timedelta(days=program.tiers.qualifying_window_days)
    spend = await repository.spend_since(conn, member_id, (now - window).date())
    held = await repository.tier_of(conn, member_id)
    tier = program.tier(held.tier if held else program.base_tier.name) or program.base_tier
    upper = ladder.next_tier(program, tier.name)
    keep = None
    if held is not None and tier.threshold > 0:
        # what will still count at the evaluation on `valid_until`, and what is missing
        evaluation = max(held.valid_until, now)
        counted = await repository.spend_since(conn, member_id, (evaluation - window).date())
        keep = KeepTier(spend_needed=max(Decimal(0), tier.threshold - counted), by=evaluation)
    return TierStatus(
        member_id=member_id,
        tier=tier.name,
        qualifying_spend=spend,
        next_tier=upper.name if upper else None,
        spend_to_next_tier=max(Decimal(0), upper.threshold - spend) if upper else None,
        tier_valid_until=held.valid_until if held else None,
        multiplier=tier.multiplier,
        benefits=[Benefit(id=b.id, name=b.name) for b in tier.benefits],
        keep=keep,
        override_until=held.override_until if held else None,
    )


async def override(
    conn: Connection,
    program: Program,
    *,
    member_id: str,
    body: TierOverride,
    principal: Principal,
    now: datetime,
) -> TierStatus:
    """Set the member's tier until `body.expires_at`, emit `tier.changed` (reason `admin`) and
    record the act in the audit log."""
    if program.tier(body.tier) is None:
        raise UnknownTier(f"{body.tier!r} is not one of {[t.name for t in program.tiers.ladder]}")
    if body.expires_at <= now:
        raise ProblemError("expires_at must be in the future")
    row = await repository.tier_of(conn, member_id)
    held = row.tier if row else program.base_tier.name
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
    )
    return await status_of(conn, program, member_id, now)


async def history(conn: Connection, member_id: str, limit: int) -> TierHistory:
    rows = await repository.history(conn, member_id, limit)
    return TierHistory(items=[TierChange.model_validate(r, from_attributes=True) for r in rows])
