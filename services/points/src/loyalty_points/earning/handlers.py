"""`purchase.completed` → points: pending through the return window; available at once when the
window had already ended by the time the event is processed, and expired at once when its expiry
had (both written down in the same transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from loyalty_points.abuse.flagging import Earning, watch_purchases
from loyalty_points.campaigns.in_force import ProgramInForce
from loyalty_points.earning import repository
from loyalty_points.earning.repository import Credit
from loyalty_points.earning.rules import EarningRules, Order
from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.settlement import settle
from loyalty_points.rewards.coupons import use_coupons
from loyalty_points.tier_projection.repository import current_tiers
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.events.loyalty import PointsEarnedV1, PointsStatus
from loyalty_shared.events.refunds import RefundIntake
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program


def _status(available_at: datetime, expires_at: datetime, now: datetime) -> PointsStatus:
    if expires_at <= now:
        return "expired"
    return "available" if available_at <= now else "pending"


def _credit(
    event: Decoded[PurchaseCompletedV1], tier: str, rules: EarningRules, now: datetime
) -> Credit:
    purchase = event.data
    purchased_at = event.envelope.time
    order = Order.of(purchase)
    earn = rules.earn_order(order, purchased_at=purchased_at, tier=tier)
    return Credit(
        order_id=purchase.order_id,
        member_id=purchase.member_id,
        event_id=event.envelope.id,
        channel=purchase.channel,
        currency=purchase.currency,
        total=purchase.total,
        tier=earn.tier,
        multiplier=earn.multiplier,
        points=earn.points,
        purchased_at=purchased_at,
        available_at=earn.available_at,
        expires_at=earn.expires_at,
        status=_status(earn.available_at, earn.expires_at, now),
        categories={category: str(value) for category, value in order.categories.items()},
        details={
            "base_points": earn.base_points,
            "tier": earn.tier,
            "multiplier": str(earn.multiplier),
            "currency": purchase.currency,
            "total": str(purchase.total),
            "channel": purchase.channel,
            "rules": [line.as_json() for line in earn.lines],
        },
    )


def _earning(credit: Credit) -> Earning:
    return Earning(
        credit.event_id, credit.member_id, credit.order_id, credit.points, credit.purchased_at
    )


def _held(credit: Credit) -> Credit:
    """The credit of a member flagged for review: pending until the review (points that
    expired already expire at once all the same)."""
    if credit.status == "expired":
        return credit
    return msgspec.structs.replace(credit, status="pending", held=True)


def _points_earned(credit: Credit) -> PointsEarnedV1:
    return PointsEarnedV1(
        member_id=credit.member_id,
        order_id=credit.order_id,
        points=credit.points,
        status=credit.status,
        tier=credit.tier,
        multiplier=str(credit.multiplier),
        currency=credit.currency,
        total=str(credit.total),
        purchased_at=credit.purchased_at,
        available_at=credit.available_at,
        expires_at=credit.expires_at,
        causation_id=credit.event_id,
    )


def purchase_completed_handler(
    program: Program, clock: Clock, *, refunds: RefundIntake, in_force: ProgramInForce
) -> BatchHandler[PurchaseCompletedV1]:
    """`refunds`: the refunds that came before their purchase are judged once it is credited.
    `in_force`: the program file and the campaigns started at run time, read once per batch."""

    async def on_purchases_completed(
        conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        tiers = await current_tiers(conn, [e.data.member_id for e in events])
        now = clock()
        rules = await in_force.rules(conn, now)
        credits = [
            _credit(e, tiers.get(e.data.member_id, program.base_tier.name), rules, now)
            for e in events
        ]
        held = await watch_purchases(conn, program, [_earning(c) for c in credits], now)
        credits = [_held(c) if c.event_id in held else c for c in credits]
        credited = await repository.credit_purchases(conn, credits)
        earned = [c for c in credits if c.event_id in credited.event_ids and c.points > 0]
        await emit(conn, *(_points_earned(c) for c in earned))
        for member_id in credited.debtors:  # points already available repay what they owe
            await ledger.conform_lots(
                conn, member_id, await ledger.latest_entry(conn, member_id, "mature")
            )
        expired = sorted({c.member_id for c in earned if c.status == "expired"})
        await settle(conn, expired, now)
        # a purchase is the member's activity at its time (rolling: their points live on)
        await ledger.push_expiries(
            conn, rules.expiry, [(c.member_id, c.purchased_at) for c in earned], now=now
        )
        await refunds.unpark(
            conn, [c.order_id for c in credits if c.event_id in credited.event_ids]
        )
        await use_coupons(conn, [e for e in events if e.envelope.id in credited.event_ids])
        return [
            Refusal(
                c.event_id,
                InvalidEvent("duplicate-order", f"order {c.order_id} was already credited"),
            )
            for c in credits
            if c.event_id not in credited.event_ids
        ]

    return on_purchases_completed
