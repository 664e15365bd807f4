"""Building the events the platform emits, one way for every service: the id derives from the
cause, so an event caused twice (a replay, a re-run job) is recognisably one event."""

from __future__ import annotations

import uuid

from loyalty_shared.events.envelope import OutgoingEvent, schema_uri
from loyalty_shared.events.loyalty import PlatformEvent


def derived_event_id(event_type: str, cause: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"loyalty:{event_type}:{cause}"))


def platform_event(data: PlatformEvent, *, source: str, cause: str | None = None) -> OutgoingEvent:
    """`cause` defaults to the event's `causation_id`; without either the id is random."""
    cause = cause or data.causation_id
    return OutgoingEvent(
        id=derived_event_id(data.TYPE, cause) if cause else str(uuid.uuid4()),
        source=source,
        type=data.TYPE,
        subject=data.member_id,
        dataschema=schema_uri(data.TYPE, data.VERSION),
        data=data.model_dump(mode="json"),
    )
