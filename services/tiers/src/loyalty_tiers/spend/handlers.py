"""Purchases and refunds → qualifying spend in daily buckets, and upgrades at once
(docs/events.md#tiers). Refunds are judged as every service judges them
(`loyalty_shared.events.refunds`); one whose purchase has not come yet waits in the park."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.refunds import judge_batch, refund_parking
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program
from loyalty_tiers import ladder
from loyalty_tiers.events import emit, tier_changed
from loyalty_tiers.spend import repository

#: Refunds whose order this service has not seen yet, by order id.
PARKING = refund_parking("tiers")


def purchases_handler(program: Program, clock: Clock) -> BatchHandler[PurchaseCompletedV1]:
    on_refunds = refunds_handler(program)

    async def on_purchases(
        conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        added = await repository.add_purchases(
            conn,
            order_ids=[e.data.order_id for e in events],
            member_ids=[e.data.member_id for e in events],
            days=[e.envelope.time.astimezone(UTC).date() for e in events],
            currencies=[e.data.currency for e in events],
            totals=[e.data.total for e in events],
            spend_currency=program.currency,
        )
        # the refunds that waited for these orders, judged now, before the upgrade check
        await PARKING.unpark(conn, sorted(added), on_refunds)
        causes = {
            e.data.member_id: e.envelope.id
            for e in events
            if e.data.order_id in added and e.data.currency == program.currency
        }
        await upgrade_where_earned(conn, program, causes, clock())
        return ()

    return on_purchases


def refunds_handler(program: Program) -> BatchHandler[PurchaseRefundedV1]:
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
            await repository.record_refunds(
                conn,
                refund_ids=[e.data.refund_id for e in verdicts.accepted],
                order_ids=[e.data.order_id for e in verdicts.accepted],
                event_ids=[e.envelope.id for e in verdicts.accepted],
                amounts=[e.data.amount for e in verdicts.accepted],
                times=[e.envelope.time for e in verdicts.accepted],
                spend_currency=program.currency,
            )
        return verdicts.refusals

    return on_refunds


async def known_orders(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    """The orders recorded by now, for the parking sweep (a refund parked in a race)."""
    return {order.order_id for order in await repository.orders_for_update(conn, order_ids)}


async def upgrade_where_earned(
    conn: Connection, program: Program, causes: dict[str, str], now: datetime
) -> None:
    """Upgrade every member in `causes` (member → the event that made the spend) whose spend now
    supports a higher tier than the one they hold."""
    if not causes:
        return
    window_start = now.date() - timedelta(days=program.tiers.qualifying_window_days)
    spends = await repository.spend_in_window(conn, list(causes), since=window_start)
    current = await repository.tiers_for_update(conn, list(causes))
    upgrades = []
    for member_id, cause in sorted(causes.items()):
        spend = spends.get(member_id, Decimal(0))
        held = current.get(member_id, program.base_tier.name)
        reached = ladder.supported(program, spend)
        if ladder.rank(program, reached.name) > ladder.rank(program, held):
            upgrades.append((member_id, held, reached.name, spend, cause))
    await repository.remember_spend(conn, {m: spends.get(m, Decimal(0)) for m in current})
    if not upgrades:
        return
    valid_until = now + timedelta(days=program.tiers.validity_days)
    await repository.record_upgrades(
        conn,
        member_ids=[u[0] for u in upgrades],
        from_tiers=[u[1] for u in upgrades],
        to_tiers=[u[2] for u in upgrades],
        spends=[u[3] for u in upgrades],
        reached_at=now,
        valid_until=valid_until,
        causes=[u[4] for u in upgrades],
    )
    await emit(
        conn,
        [
            tier_changed(
                program,
                member_id=member_id,
                from_tier=held,
                to_tier=to_tier,
                reason="spend",
                spend=spend,
                valid_until=valid_until,
                cause=cause,
            )
            for member_id, held, to_tier, spend, cause in upgrades
        ],
    )
