"""`tier.changed` → each member's current tier, which an answer is counted under (NPS by tier)."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_feedback.tier_projection import repository
from loyalty_shared.db import Connection
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.kafka.routing import Refusal


async def on_tier_changes(
    conn: Connection, events: Sequence[Decoded[TierChangedV1]]
) -> Sequence[Refusal]:
    await repository.set_tiers(
        conn,
        member_ids=[e.data.member_id for e in events],
        tiers=[e.data.to_tier for e in events],
    )
    return ()
