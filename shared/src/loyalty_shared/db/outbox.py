"""The transactional outbox: an event to publish is a row written in the caller's transaction,
published by the relay after commit. Nothing ever calls the Kafka producer inside a transaction.
The table is `outbox` (db/migrations/).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar

from loyalty_shared.db import Connection
from loyalty_shared.events.envelope import CONTENT_TYPE, OutgoingEvent
from loyalty_shared.observability import tracing

Headers = Sequence[tuple[str, bytes]]

#: Rows written to the outbox so far in the current context (a consumer's task: its batches).
_WRITTEN: ContextVar[int] = ContextVar("outbox_rows_written", default=0)


def rows_written() -> int:
    """How many rows the current context has written to the outbox: a consumer compares it
    before and after a batch to know whether the relay has anything new to publish."""
    return _WRITTEN.get()


def _count(rows: int) -> None:
    _WRITTEN.set(_WRITTEN.get() + rows)


async def enqueue_record(
    conn: Connection,
    *,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Headers = (),
) -> None:
    _count(1)
    await conn.execute(
        """
        INSERT INTO outbox (topic, message_key, payload, header_names, header_values)
        VALUES ($1, $2, $3, $4, $5)
        """,
        topic,
        key,
        value,
        [name for name, _ in headers],
        [value for _, value in headers],
    )


async def enqueue_event(conn: Connection, *, topic: str, event: OutgoingEvent) -> None:
    """An event for `topic`, keyed by its member id so one member's events stay in order."""
    await enqueue_events(conn, topic=topic, events=[event])


async def enqueue_events(conn: Connection, *, topic: str, events: Sequence[OutgoingEvent]) -> None:
    """Many events in one statement, in order, each keyed by its member id, each with the trace
    context of what caused it (`traceparent`, `tracestate`; see observability/tracing.py)."""
    if not events:
        return
    _count(len(events))
    parents: list[bytes | None] = [None] * len(events)
    states: list[bytes | None] = [None] * len(events)
    traces = tracing.current()
    if traces is not None:
        for n, event in enumerate(events):
            cause = event.data.get("causation_id")
            headers = dict(
                traces.headers_for(topic, event.id, event.type, str(cause) if cause else None)
            )
            parents[n], states[n] = headers.get("traceparent"), headers.get("tracestate")
    await conn.execute(
        """
        INSERT INTO outbox (topic, message_key, payload, header_names, header_values)
        SELECT $1, key, payload,
               $4::text[]
                   || CASE WHEN parent IS NULL THEN '{}'::text[] ELSE '{traceparent}' END
                   || CASE WHEN state IS NULL THEN '{}'::text[] ELSE '{tracestate}' END,
               $5::bytea[]
                   || CASE WHEN parent IS NULL THEN '{}'::bytea[] ELSE ARRAY[parent] END
                   || CASE WHEN state IS NULL THEN '{}'::bytea[] ELSE ARRAY[state] END
        FROM unnest($2::bytea[], $3::bytea[], $6::bytea[], $7::bytea[])
            WITH ORDINALITY AS e (key, payload, parent, state, n)
        ORDER BY n
        """,
        topic,
        [event.subject.encode() for event in events],
        [event.to_json() for event in events],
        ["content-type"],
        [CONTENT_TYPE.encode()],
        parents,
        states,
    )
