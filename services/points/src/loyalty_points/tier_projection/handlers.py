"""`tier.changed` → the multiplier the next purchase earns at."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_points.tier_projection.repository import record_tiers
from loyalty_shared.db import Connection
from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program


def tier_changed_handler(program: Program) -> BatchHandler[TierChangedV1]:
    async def on_tier_changed(
        conn: Connection, events: Sequence[Decoded[TierChangedV1]]
    ) -> Sequence[Refusal]:
        known: list[tuple[TierChangedV1, Decoded[TierChangedV1]]] = []
        refusals = []
        for event in events:
            change = event.data
            if program.tier(change.to_tier) is None:
                error = InvalidEvent(
                    "unknown-tier", f"tier {change.to_tier!r} is not in the program"
                )
                refusals.append(Refusal(event.envelope.id, error))
            else:
                known.append((change, event))
        if known:
            await record_tiers(
                conn,
                member_ids=[change.member_id for change, _ in known],
                tiers=[change.to_tier for change, _ in known],
                changed_at=[event.envelope.time for _, event in known],
                event_ids=[event.envelope.id for _, event in known],
            )
        return refusals

    return on_tier_changed
