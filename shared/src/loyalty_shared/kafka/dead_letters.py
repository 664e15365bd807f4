"""Writing a refused record to `<topic>.dlq`, through the outbox, exactly once per position.

The record goes out unchanged (same key, same value, its headers) plus `error.code`,
`error.detail`, `error.service` and where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_shared.db import Connection, inbox
from loyalty_shared.db.outbox import enqueue_record
from loyalty_shared.events.decoding import InvalidEvent
from loyalty_shared.kafka.topics import dlq_topic
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.observability.metrics import DEAD_LETTERS, EVENTS

log = get_logger(__name__)


async def dead_letter(
    conn: Connection,
    *,
    service: str,
    position: str,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    error: InvalidEvent,
    event_type: str,
    origin: Sequence[tuple[str, bytes]] = (),
) -> None:
    # Claimed by position, not event id: a replay of this record must not dead-letter it twice,
    # yet a corrected event republished under the same id must still be applied.
    if not await inbox.claim(conn, service, f"dlq:{position}"):
        return
    await enqueue_record(
        conn,
        topic=dlq_topic(topic),
        key=key,
        value=value,
        headers=[
            *headers,
            ("error.code", error.code.encode()),
            ("error.detail", error.detail.encode()[:2000]),
            ("error.service", service.encode()),
            ("error.topic", topic.encode()),
            *origin,
        ],
    )
    EVENTS.labels(service, topic, event_type, "rejected").inc()
    DEAD_LETTERS.labels(service, topic, error.code).inc()
    log.warning(
        "event refused",
        topic=topic,
        position=position,
        key=(key or b"").decode(errors="replace"),
        code=error.code,
        detail=error.detail,
    )
