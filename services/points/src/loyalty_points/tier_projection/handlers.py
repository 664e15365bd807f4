"""`tier.changed` → the multiplier the next purchase earns at."""

from __future__ import annotations

from loyalty_points.tier_projection.repository import record_tier
from loyalty_shared.db import Connection
from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.kafka.consumer import EventHandler
from loyalty_shared.program.schema import Program


def tier_changed_handler(program: Program) -> EventHandler:
    async def on_tier_changed(conn: Connection, event: Decoded) -> None:
        change = event.data
        assert isinstance(change, TierChangedV1)
        if program.tier(change.to_tier) is None:
            raise InvalidEvent("unknown-tier", f"tier {change.to_tier!r} is not in the program")
        await record_tier(
            conn,
            member_id=change.member_id,
            tier=change.to_tier,
            changed_at=event.envelope.time,
            event_id=event.envelope.id,
        )

    return on_tier_changed
