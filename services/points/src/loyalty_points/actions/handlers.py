"""`member.action` on `commerce.members` → points, in the batch's transaction at one instant."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_points.actions import service
from loyalty_points.ledger.repository import lock_accounts
from loyalty_points.ledger.settlement import settle
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import MemberActionV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program


def member_action_handler(program: Program, clock: Clock) -> BatchHandler[MemberActionV1]:
    async def on_member_actions(
        conn: Connection, events: Sequence[Decoded[MemberActionV1]]
    ) -> Sequence[Refusal]:
        now = clock()
        refusals = [
            Refusal(event.envelope.id, error)
            for event in events
            if (error := service.refusal(event, now)) is not None
        ]
        refused = {r.event_id for r in refusals}
        rewarded = [
            event
            for event in events
            if event.envelope.id not in refused and event.data.action in program.actions
        ]
        members = sorted({event.data.member_id for event in rewarded})
        # every member of the batch at once, in one order (no deadlock with another batch)
        await lock_accounts(conn, members)
        await settle(conn, members, now)
        for event in rewarded:
            await service.take(conn, program, event, now)
        return refusals

    return on_member_actions
