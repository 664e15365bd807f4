"""One fetched batch applied in the caller's transaction: records decoded (the invalid ones
dead-lettered), grouped by event type in layers that keep each partition's order, claimed in
the inbox and handed to their routes' handlers; a handler's failure on a group either isolated
in a savepoint or, without one, the batch's to redo (docs/architecture.md#the-consumer-runner)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import structlog
from aiokafka import ConsumerRecord, TopicPartition
from opentelemetry.context import Context

from loyalty_shared.db import Connection, inbox
from loyalty_shared.db.errors import is_transient
from loyalty_shared.events.decoding import (
    Decoded,
    InvalidEvent,
    RawRecord,
    UnknownType,
    decode_event,
)
from loyalty_shared.kafka.dead_letters import dead_letter
from loyalty_shared.kafka.routing import Refusal, Route, Routes
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.observability.metrics import EVENTS
from loyalty_shared.observability.tracing import Tracing

log = get_logger(__name__)

Record = ConsumerRecord[bytes, bytes]
Batch = Mapping[TopicPartition, Sequence[Record]]


class _Incoming(msgspec.Struct, frozen=True):
    record: Record
    event: Decoded[Any]

    @property
    def event_id(self) -> str:
        return self.event.envelope.id


class GroupFailed(Exception):
    """A handler failed on a group applied without a savepoint: the transaction is lost, and the
    batch is to be applied again with savepoints (`savepoints=True`)."""


class BatchApplier:
    def __init__(self, *, service: str, routes: Routes, traces: Tracing | None = None) -> None:
        self._service = service
        self._routes = routes
        self._tracing = traces
        self._models = {
            topic: {t: r.model for t, r in types.items()} for topic, types in routes.items()
        }
        #: Record timestamps (ms) of the last `apply`, by (topic, event type): for the
        #: processing-latency histogram, observed once the batch has committed.
        self.applied: dict[tuple[str, str], list[int]] = {}

    async def apply(
        self,
        conn: Connection,
        batch: Batch,
        contexts: Mapping[int, Context] | None = None,
        *,
        savepoints: bool = True,
    ) -> None:
        """`contexts`: the trace context each record carried, by `id(record)` (see tracing).
        With `savepoints`, a group a handler fails on is rolled back to its savepoint and its
        events applied one by one; without, the failure raises `GroupFailed` (two round trips
        a group fewer, for the batches that do not fail)."""
        self.applied = defaultdict(list)
        contexts = contexts or {}
        layers: dict[int, dict[tuple[str, str], list[_Incoming]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for records in batch.values():
            layer, previous = 0, None
            for record in records:
                incoming = await self._decode(conn, record)
                if incoming is None:
                    self.applied[(record.topic, "?")].append(record.timestamp)
                    continue
                kind = (record.topic, incoming.event.envelope.type)
                self.applied[kind].append(record.timestamp)
                context = contexts.get(id(record))
                if context is not None and self._tracing is not None:
                    self._tracing.remember(incoming.event_id, context)
                if previous is not None and kind != previous:
                    layer += 1
                previous = kind
                layers[layer][kind].append(incoming)
        for layer in sorted(layers):
            for (topic, event_type), group in layers[layer].items():
                route = self._routes[topic][event_type]
                await self._apply_group(conn, route, group, savepoints=savepoints)

    async def _decode(self, conn: Connection, record: Record) -> _Incoming | None:
        try:
            decoded = decode_event(record.value, self._models.get(record.topic, {}), record.headers)
        except InvalidEvent as rejection:
            await self._dead_letter(conn, record, rejection, event_type="?")
            return None
        if isinstance(decoded, UnknownType):
            EVENTS.labels(self._service, record.topic, "unknown", "unknown_type").inc()
            log.info("unknown event type skipped", topic=record.topic, type=decoded.event_type)
            return None
        raw = RawRecord(record.topic, record.key, record.value, tuple(record.headers or ()))
        return _Incoming(record, Decoded(decoded.envelope, decoded.data, raw))

    async def _apply_group(
        self, conn: Connection, route: Route[Any], group: list[_Incoming], *, savepoints: bool
    ) -> None:
        claimed = await inbox.claim_many(conn, self._service, [i.event_id for i in group])
        fresh: list[_Incoming] = []
        for incoming in group:
            if incoming.event_id in claimed:
                claimed.discard(incoming.event_id)  # a second copy in the same batch: duplicate
                fresh.append(incoming)
            else:
                envelope = incoming.event.envelope
                EVENTS.labels(
                    self._service, incoming.record.topic, envelope.type, "duplicate"
                ).inc()
        if not fresh:
            return
        try:
            if savepoints:
                async with conn.transaction():  # a failed group leaves no trace
                    refusals = await route.handler(conn, [i.event for i in fresh])
            else:
                refusals = await route.handler(conn, [i.event for i in fresh])
        except Exception as exc:
            if is_transient(exc):
                raise
            if not savepoints:
                raise GroupFailed from exc
            log.warning(
                "handler failed on a group; applying its events one by one", error=repr(exc)
            )
            refusals = await self._one_by_one(conn, route, fresh)
        refused = {refusal.event_id: refusal.error for refusal in refusals}
        applied = sum(1 for incoming in fresh if incoming.event_id not in refused)
        first = fresh[0]  # a group is of one topic and one type
        EVENTS.labels(self._service, first.record.topic, first.event.envelope.type, "applied").inc(
            applied
        )
        for incoming in fresh:
            error = refused.get(incoming.event_id)
            if error is not None:
                await inbox.release(conn, self._service, incoming.event_id)
                await self._dead_letter(
                    conn, incoming.record, error, event_type=incoming.event.envelope.type
                )

    async def _one_by_one(
        self, conn: Connection, route: Route[Any], group: list[_Incoming]
    ) -> list[Refusal]:
        refusals: list[Refusal] = []
        for incoming in group:
            envelope = incoming.event.envelope
            with structlog.contextvars.bound_contextvars(
                event_id=envelope.id, member_id=envelope.subject
            ):
                try:
                    async with conn.transaction():
                        refusals.extend(await route.handler(conn, [incoming.event]))
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    log.exception("handler failed; event sent to the dead-letter topic")
                    detail = f"{type(exc).__name__}: {exc}"[:500]
                    refusals.append(Refusal(envelope.id, InvalidEvent("processing-failed", detail)))
        return refusals

    async def _dead_letter(
        self, conn: Connection, record: Record, rejection: InvalidEvent, *, event_type: str
    ) -> None:
        await dead_letter(
            conn,
            service=self._service,
            position=f"{record.topic}:{record.partition}:{record.offset}",
            topic=record.topic,
            key=record.key,
            value=record.value,
            headers=record.headers or (),
            error=rejection,
            event_type=event_type,
            origin=[
                ("error.partition", str(record.partition).encode()),
                ("error.offset", str(record.offset).encode()),
            ],
        )
