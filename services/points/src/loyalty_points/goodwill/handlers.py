"""`feedback.goodwill_granted` → points for a detractor, as service recovery.

The feedback service decides who gets them (the program's `feedback.goodwill_points`); this
service credits them like an adjustment (a lot that expires like earned points), exactly once per
event: the inbox drops a redelivered grant, and the entry names the event and the feedback.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_points.adjustments.schemas import AdjustmentCreate
from loyalty_points.adjustments.service import adjust
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.loyalty import GoodwillGrantedV1
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program


def goodwill_granted_handler(program: Program, clock: Clock) -> BatchHandler[GoodwillGrantedV1]:
    async def on_goodwill_granted(
        conn: Connection, events: Sequence[Decoded[GoodwillGrantedV1]]
    ) -> Sequence[Refusal]:
        now = clock()
        for event in events:
            grant = event.data
            await adjust(
                conn,
                member_id=grant.member_id,
                request=AdjustmentCreate(points=grant.points, reason=grant.reason),
                actor="system:service-recovery",
                program=program,
                now=now,
                cause_event_id=event.envelope.id,
                details={"feedback_id": grant.feedback_id},
            )
        return ()

    return on_goodwill_granted
