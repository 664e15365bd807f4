"""Writing a refused record to `<topic>.dlq`, through the outbox, exactly once per position.

The record goes out unchanged (same key, same value, its headers) plus `error.code`,
`error.detail`, `error.service` and where it came from; the service keeps it too (loyalty_shared
.dlq), for the console to list and replay.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from loyalty_shared.db import Connection, inbox
from loyalty_shared.db.outbox import enqueue_record
from loyalty_shared.dlq import repository as dlq_repository
from loyalty_shared.events.decoding import InvalidEvent
from loyalty_shared.kafka.topics import dlq_topic
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.observability.metrics import DEAD_LETTERS, EVENTS

log = get_logger(__name__)


def event_id_of(value: bytes | None, headers: tuple[tuple[str, bytes], ...]) -> str | None:
    """The CloudEvent's id, from the value (structured mode) or `ce_id` (binary), if readable."""
    for name, header in headers:
        if name == "ce_id":
            return header.decode(errors="replace")
    try:
        event = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    found = event.get("id") if isinstance(event, dict) else None
    return found if isinstance(found, str) else None


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
    await dlq_repository.keep(
        conn,
        position=position,
        topic=topic,
        code=error.code,
        detail=error.detail[:2000],
        event_type=event_type,
        event_id=event_id_of(value, tuple(headers)),
        key=key,
        value=value,
        headers=headers,
    )
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
