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
from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.refunds import judge_batch, refund_parking
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program

#: Refunds whose order this service has not seen yet, by order id.
PARKING = refund_parking("feedback")


def purchases_handler(program: Program) -> BatchHandler[PurchaseCompletedV1]:
    settings = program.feedback
    delay = timedelta(hours=settings.delay_hours)

    async def on_purchases(
        conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        added = await repository.add_purchases(
            conn,
            order_ids=[e.data.order_id for e in events],
            member_ids=[e.data.member_id for e in events],
            channels=[e.data.channel for e in events],
            currencies=[e.data.currency for e in events],
            totals=[e.data.total for e in events],
            times=[e.envelope.time for e in events],
        )
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
        # the refunds that waited for these orders, judged now
        await PARKING.unpark(conn, sorted(added), on_refunds)
        return ()

    return on_purchases


async def known_orders(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    """The orders recorded by now, for the parking sweep (a refund parked in a race)."""
    return {order.order_id for order in await repository.orders_for_update(conn, order_ids)}


async def on_refunds(
    conn: Connection, events: Sequence[Decoded[PurchaseRefundedV1]]
) -> Sequence[Refusal]:
    refunds = [e.data for e in events]
    orders = await repository.orders_for_update(conn, [r.order_id for r in refunds])
    verdicts = judge_batch(
        events,
        orders,
        await repository.known_refunds(conn, [r.refund_id for r in refunds]),
    )
    await PARKING.park(conn, verdicts.waiting)
    if verdicts.accepted:
        await repository.add_refunds(
            conn,
            refund_ids=[e.data.refund_id for e in verdicts.accepted],
            order_ids=[e.data.order_id for e in verdicts.accepted],
            member_ids=[e.data.member_id for e in verdicts.accepted],
            amounts=[e.data.amount for e in verdicts.accepted],
            times=[e.envelope.time for e in verdicts.accepted],
        )
    return verdicts.refusals
