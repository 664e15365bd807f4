"""`tier.changed` as the tiers service emits it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_events
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.envelope import OutgoingEvent
from loyalty_shared.events.loyalty import TierBenefit, TierChangedV1
from loyalty_shared.kafka.topics import LOYALTY_TIERS
from loyalty_shared.program.schema import Program
from loyalty_tiers.ladder import rank

SOURCE = "loyalty/tiers"


def tier_changed(
    program: Program,
    *,
    member_id: str,
    from_tier: str,
    to_tier: str,
    reason: Literal["spend", "evaluation", "admin", "import"],
    spend: Decimal,
    valid_until: datetime,
    cause: str,
) -> OutgoingEvent:
    from_rank, to_rank = rank(program, from_tier), rank(program, to_tier)
    target = program.tier(to_tier)
    assert target is not None
    up = to_rank > from_rank
    data = TierChangedV1(
        member_id=member_id,
        from_tier=from_tier,
        to_tier=to_tier,
        direction="up" if up else "down" if to_rank < from_rank else "same",
        reason=reason,
        qualifying_spend=spend.quantize(Decimal("0.01")),
        valid_until=valid_until,
        multiplier=target.multiplier,
        new_benefits=[
            TierBenefit(id=b.id, name=b.name)
            for b in (target.new_benefits(program.tier(from_tier)) if up else [])
        ],
        causation_id=cause,
    )
    # the cause alone (an evaluation day) is shared by many members: the id names the member too
    return platform_event(data, source=SOURCE, cause=f"{member_id}:{cause}")


async def emit(conn: Connection, events: list[OutgoingEvent]) -> None:
    await enqueue_events(conn, topic=LOYALTY_TIERS, events=events)
