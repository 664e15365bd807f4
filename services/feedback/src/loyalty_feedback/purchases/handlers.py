"""Purchases and refunds → the orders this service knows, and a survey invitation for each sampled
purchase. Refunds are judged as every service judges them (`loyalty_shared.events.refunds`); one
whose purchase has not come yet waits in the park."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from loyalty_feedback.events import derived_id
from loyalty_feedback.invitations.sampling import sampled
from loyalty_feedback.purchases import repository
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.refunds import RefundIntake
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program

#: Refunds judged against their orders; the accepted are recorded by refund id.
REFUNDS = RefundIntake(
    service="feedback",
    orders=repository.orders_for_update,
    record=repository.add_refunds,
)


def purchases_handler(program: Program) -> BatchHandler[PurchaseCompletedV1]:
    settings = program.feedback
    delay = timedelta(hours=settings.delay_hours)

    async def on_purchases(
        conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        added = await repository.add_purchases(conn, events)
        chosen = [
            e
            for e in events
            if e.data.order_id in added and sampled(e.data.order_id, settings.sample_rate)
        ]
        if chosen:
            await repository.schedule_invitations(
                conn,
                invitation_ids=[derived_id("invitation", e.data.order_id) for e in chosen],
                order_ids=[e.data.order_id for e in chosen],
                due_at=[e.envelope.time + delay for e in chosen],
            )
        await REFUNDS.unpark(conn, added)
        return ()

    return on_purchases
