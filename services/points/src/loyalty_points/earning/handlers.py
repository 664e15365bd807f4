"""`purchase.completed` → points: pending through the return window, or available at once when
the window had already ended by the time the event is processed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from loyalty_points.earning import repository
from loyalty_points.earning.repository import Credit
from loyalty_points.earning.rules import earn_for
from loyalty_points.events import emit
from loyalty_points.refunds.handlers import apply_parked_refunds
from loyalty_points.tier_projection.repository import current_tiers
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.events.loyalty import PointsEarnedV1
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import Program


def _credit(
    event: Decoded[PurchaseCompletedV1], tier: str, program: Program, now: datetime
) -> Credit:
    purchase = event.data
    purchased_at = event.envelope.time
    earn = earn_for(purchase, purchased_at=purchased_at, tier=tier, program=program)
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
        status="available" if earn.available_at <= now else "pending",
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


def purchase_completed_handler(program: Program) -> BatchHandler[PurchaseCompletedV1]:
    async def on_purchases_completed(
        conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        tiers = await current_tiers(conn, [e.data.member_id for e in events])
        now = datetime.now(UTC)
        credits = [
            _credit(e, tiers.get(e.data.member_id, program.base_tier.name), program, now)
            for e in events
        ]
        credited = await repository.credit_purchases(conn, credits)
        await emit(
            conn, *(_points_earned(c) for c in credits if c.event_id in credited and c.points > 0)
        )
        await apply_parked_refunds(
            conn,
            [c.order_id for c in credits if c.event_id in credited],
            program.earning.refund_policy,
        )
        return [
            Refusal(
                c.event_id,
                InvalidEvent("duplicate-order", f"order {c.order_id} was already credited"),
            )
            for c in credits
            if c.event_id not in credited
        ]

    return on_purchases_completed
