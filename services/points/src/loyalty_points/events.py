"""The events the points service emits on `loyalty.points`, built one way."""

from __future__ import annotations

import uuid

from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_events
from loyalty_shared.events.envelope import OutgoingEvent, schema_uri
from loyalty_shared.events.loyalty import PlatformEvent
from loyalty_shared.kafka.topics import LOYALTY_POINTS

SOURCE = "loyalty/points"


def derived_event_id(event_type: str, causation_id: str) -> str:
    """The id of an event that follows from another: the same cause always yields the same id,
    so even a re-emission is recognised downstream as a duplicate."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"loyalty:{event_type}:{causation_id}"))


def points_event(data: PlatformEvent) -> OutgoingEvent:
    """The event's id derives from its cause, so an event caused twice is one event."""
    cause = data.causation_id or str(uuid.uuid4())
    return OutgoingEvent(
        id=derived_event_id(data.TYPE, cause),
        source=SOURCE,
        type=data.TYPE,
        subject=data.member_id,
        dataschema=schema_uri(data.TYPE, data.VERSION),
        data=data.model_dump(mode="json"),
    )


async def emit(conn: Connection, *events: PlatformEvent) -> None:
    await enqueue_events(conn, topic=LOYALTY_POINTS, events=[points_event(e) for e in events])
