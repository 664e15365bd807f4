"""`purchase.completed` → points: pending through the return window, or available at once when
the window had already ended by the time the event is processed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from loyalty_points.earning import repository
from loyalty_points.earning.rules import earn_for
from loyalty_points.tier_projection.repository import current_tier
from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_event
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.events.envelope import OutgoingEvent, schema_uri
from loyalty_shared.events.loyalty import PointsEarnedV1
from loyalty_shared.kafka.consumer import EventHandler
from loyalty_shared.kafka.topics import LOYALTY_POINTS
from loyalty_shared.program.schema import Program

SOURCE = "loyalty/points"


def derived_event_id(event_type: str, causation_id: str) -> str:
    """The id of an event that follows from another: the same cause always yields the same id,
    so even a re-emission is recognised downstream as a duplicate."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"loyalty:{event_type}:{causation_id}"))


def purchase_completed_handler(program: Program) -> EventHandler:
    async def on_purchase_completed(conn: Connection, event: Decoded) -> None:
        purchase = event.data
        assert isinstance(purchase, PurchaseCompletedV1)
        purchased_at = event.envelope.time
        tier = await current_tier(conn, purchase.member_id) or program.base_tier.name
        earn = earn_for(purchase, purchased_at=purchased_at, tier=tier, program=program)
        status = "available" if earn.available_at <= datetime.now(UTC) else "pending"
        credited = await repository.credit_purchase(
            conn,
            purchase=purchase,
            event_id=event.envelope.id,
            purchased_at=purchased_at,
            earn=earn,
            status=status,
        )
        if not credited:
            raise InvalidEvent(
                "duplicate-order",
                f"order {purchase.order_id} was already credited by another event",
            )
        if earn.points == 0:
            return
        data = PointsEarnedV1(
            member_id=purchase.member_id,
            order_id=purchase.order_id,
            points=earn.points,
            status=status,
            tier=earn.tier,
            multiplier=str(earn.multiplier),
            currency=purchase.currency,
            total=str(purchase.total),
            purchased_at=purchased_at,
            available_at=earn.available_at,
            expires_at=earn.expires_at,
            causation_id=event.envelope.id,
        )
        await enqueue_event(
            conn,
            topic=LOYALTY_POINTS,
            event=OutgoingEvent(
                id=derived_event_id(PointsEarnedV1.TYPE, event.envelope.id),
                source=SOURCE,
                type=PointsEarnedV1.TYPE,
                subject=purchase.member_id,
                dataschema=schema_uri(PointsEarnedV1.TYPE, PointsEarnedV1.VERSION),
                data=data.model_dump(mode="json"),
            ),
        )

    return on_purchase_completed
