"""The events the points service emits on `loyalty.points`."""

from __future__ import annotations

from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_events
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.loyalty import PlatformEvent
from loyalty_shared.kafka.topics import LOYALTY_POINTS

SOURCE = "loyalty/points"


async def emit(conn: Connection, *events: PlatformEvent) -> None:
    await enqueue_events(
        conn, topic=LOYALTY_POINTS, events=[platform_event(e, source=SOURCE) for e in events]
    )
