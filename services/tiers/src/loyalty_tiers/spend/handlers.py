"""Purchases and refunds → qualifying spend over the rolling window, and upgrades at once.

A purchase counts on the day of its `time` (UTC), so a late or backdated one counts for the days
it belongs to, and one older than the window never counts. Only the program's currency counts
(there is no exchange rate in the contract). A refund is taken off its order's day. Upgrades
happen as soon as the spend crosses a threshold, several tiers at once if it crosses several;
refunds never downgrade by themselves: downgrades are the evaluation's (evaluation/).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program
from loyalty_tiers import ladder
from loyalty_tiers.events import emit, tier_changed
from loyalty_tiers.spend import repository


def purchases_handler(program: Program) -> BatchHandler:
    async def on_purchases(conn: Connection, events: Sequence[Decoded]) -> Sequence[Refusal]:
        counted = [e for e in events if _purchase(e).currency == program.currency]
        if not counted:
            return ()
        added = await repository.add_purchases(
            conn,
            order_ids=[_purchase(e).order_id for e in counted],
            member_ids=[_purchase(e).member_id for e in counted],
            days=[e.envelope.time.astimezone(UTC).date() for e in counted],
            amounts=[_purchase(e).total for e in counted],
        )
        causes = {
            _purchase(e).member_id: e.envelope.id for e in counted if _purchase(e).order_id in added
        }
        await upgrade_where_earned(conn, program, causes)
        return ()

    return on_purchases


def refunds_handler(program: Program) -> BatchHandler:
    async def on_refunds(conn: Connection, events: Sequence[Decoded]) -> Sequence[Refusal]:
        for event in events:
            refund = event.data
            assert isinstance(refund, PurchaseRefundedV1)
            if refund.currency != program.currency:
                continue
            await repository.subtract_refund(
                conn,
                order_id=refund.order_id,
                member_id=refund.member_id,
                fallback_day=event.envelope.time.astimezone(UTC).date(),
                amount=refund.amount,
            )
        return ()

    return on_refunds


def _purchase(event: Decoded) -> PurchaseCompletedV1:
    assert isinstance(event.data, PurchaseCompletedV1)
    return event.data


async def upgrade_where_earned(conn: Connection, program: Program, causes: dict[str, str]) -> None:
    """Upgrade every member in `causes` (member → the event that made the spend) whose spend now
    supports a higher tier than the one they hold."""
    if not causes:
        return
    now = datetime.now(UTC)
    window_start = now.date() - timedelta(days=program.tiers.qualifying_window_days)
    spends = await repository.spend_in_window(conn, list(causes), since=window_start)
    current = await repository.tiers_for_update(conn, list(causes))
    upgrades = []
    for member_id, cause in sorted(causes.items()):
        spend = spends.get(member_id, Decimal(0))
        held = current[member_id]["tier"] if member_id in current else program.base_tier.name
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
