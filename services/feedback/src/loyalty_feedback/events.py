"""The events the feedback service emits on `loyalty.feedback`, through the outbox."""

from __future__ import annotations

import uuid

from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_events
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.loyalty import PlatformEvent
from loyalty_shared.kafka.topics import LOYALTY_FEEDBACK

SOURCE = "loyalty/feedback"


def derived_id(kind: str, key: str) -> uuid.UUID:
    """A stable id from what caused it (an invitation from its order, an answer from its
    invitation), so a replay or a rerun names the same thing."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"loyalty:feedback:{kind}:{key}")


async def emit(conn: Connection, *events: PlatformEvent) -> None:
    await enqueue_events(
        conn, topic=LOYALTY_FEEDBACK, events=[platform_event(e, source=SOURCE) for e in events]
    )
