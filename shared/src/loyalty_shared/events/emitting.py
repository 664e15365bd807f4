"""Building the events the platform emits, one way for every service: the id derives from the
cause, so an event caused twice (a replay, a re-run job) is recognisably one event."""

from __future__ import annotations

import hashlib
import uuid

from loyalty_shared.clock import system_clock
from loyalty_shared.events.envelope import OutgoingEvent, schema_uri
from loyalty_shared.events.loyalty import PlatformEvent

_NAMESPACE = uuid.NAMESPACE_URL.bytes


def derived_event_id(event_type: str, cause: str) -> str:
    """uuid5(NAMESPACE_URL, "loyalty:<type>:<cause>"), spelled out: it runs for every event the
    platform emits, and uuid.uuid5 builds two UUID objects to produce one string."""
    name = _NAMESPACE + f"loyalty:{event_type}:{cause}".encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def platform_event(data: PlatformEvent, *, source: str, cause: str | None = None) -> OutgoingEvent:
    """`cause` defaults to the event's `causation_id`; without either the id is random."""
    cause = cause or data.causation_id
    return OutgoingEvent(
        id=derived_event_id(data.TYPE, cause) if cause else str(uuid.uuid4()),
        source=source,
        type=data.TYPE,
        time=system_clock(),
        subject=data.member_id,
        dataschema=schema_uri(data.TYPE, data.VERSION),
        data=data.model_dump(mode="json"),
    )
