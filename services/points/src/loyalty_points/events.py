"""The events the points service emits on `loyalty.points`."""

from __future__ import annotations

from collections.abc import Sequence

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


async def emit_caused(conn: Connection, caused: Sequence[tuple[PlatformEvent, str]]) -> None:
    """Events whose ids derive from a cause of their own: one event causing several of a type
    (a purchase using two coupons) keeps them apart."""
    await enqueue_events(
        conn,
        topic=LOYALTY_POINTS,
        events=[platform_event(e, source=SOURCE, cause=cause) for e, cause in caused],
    )
