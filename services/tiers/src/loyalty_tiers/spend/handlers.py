"""Purchases and refunds → qualifying spend in daily buckets, and upgrades at once
(docs/events.md#tiers). Refunds are judged as every service judges them
(`loyalty_shared.events.refunds`); one whose purchase has not come yet waits in the park."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.refunds import RefundIntake
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program
from loyalty_tiers import ladder
from loyalty_tiers.events import emit, tier_changed
from loyalty_tiers.spend import repository


def refund_intake(program: Program) -> RefundIntake:
    """Refunds judged against their orders; an accepted one is taken off the day its order
    counted on (when the order is in the program's currency)."""
    return RefundIntake(
        service="tiers",
        orders=repository.orders_for_update,
        record=partial(repository.record_refunds, spend_currency=program.currency),
    )


def purchases_handler(
    program: Program, clock: Clock, refunds: RefundIntake
) -> BatchHandler[PurchaseCompletedV1]:
    async def on_purchases(
        conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        added = await repository.add_purchases(conn, events, spend_currency=program.currency)
        await refunds.unpark(conn, added)  # judged before the upgrade check
        causes = {
            e.data.member_id: e.envelope.id
            for e in events
            if e.data.order_id in added and e.data.currency == program.currency
        }
        await upgrade_where_earned(conn, program, causes, clock())
        return ()

    return on_purchases


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
