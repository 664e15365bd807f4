"""Parking: records a consumer keeps until what they refer to shows up (a refund before its
purchase). `park` keeps them under a key, `unpark` applies them with the handler that would have
applied them on arrival, and `ParkingSweeper` applies those whose key came in a race and
dead-letters those that waited too long (docs/architecture.md#parking)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic

import asyncpg
import msgspec
import orjson

from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.db import Connection, inbox
from loyalty_shared.events.decoding import (
    Decoded,
    InvalidEvent,
    M,
    RawRecord,
    UnknownType,
    decode_event,
    header_value,
    is_binary_mode,
)
from loyalty_shared.kafka.dead_letters import dead_letter
from loyalty_shared.kafka.routing import BatchHandler
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)

#: How often a `ParkingSweeper` applies records whose key is known by now and dead-letters those
#: that waited too long (the wait is days; a record parked in a race waits until this run).
SWEEP_INTERVAL_S = 30.0
SWEEP_BATCH = 500

_COLUMNS = """event_id, key, topic, message_key, payload, header_names, header_values,
              parked_at, seq"""


@dataclass(frozen=True, slots=True)
class ParkedRecord:
    event_id: str
    key: str
    raw: RawRecord
    parked_at: datetime
    seq: int

    @property
    def position(self) -> str:
        """Where its dead letter is claimed: once per parking, not once per event id, so a
        corrected event parked again under the same id can be dead-lettered again."""
        return f"parked:{self.event_id}:{self.seq}"


#: The reason a record that waited too long is refused, from the record.
StaleError = Callable[[ParkedRecord], InvalidEvent]
#: Which of these keys the service knows by now (the orders it has recorded).
KnownKeys = Callable[[Connection, Sequence[str]], Awaitable[Collection[str]]]


def _parked(row: asyncpg.Record) -> ParkedRecord:
    raw = RawRecord(
        row["topic"],
        row["message_key"],
        row["payload"],
        tuple(zip(row["header_names"], row["header_values"], strict=True)),
    )
    return ParkedRecord(row["event_id"], row["key"], raw, row["parked_at"], row["seq"])


class Parking(Generic[M]):
    """One service's park. `models`: event type → data model, to decode parked records again;
    `stale_error`: why a record that waited too long is refused."""

    def __init__(
        self, *, service: str, models: Mapping[str, type[M]], stale_error: StaleError
    ) -> None:
        self.service = service
        self._models = dict(models)
        self._stale_error = stale_error

    async def park(self, conn: Connection, records: Sequence[tuple[str, Decoded[M]]]) -> None:
        """Keep each (key, event) until `unpark(key)`; the events must come from the runner (with
        `raw`). Parking an event id again changes nothing."""
        rows = []
        for key, event in records:
            if event.raw is None or event.raw.value is None:
                raise ValueError(f"event {event.envelope.id} has no raw record to park")
            raw = event.raw
            rows.append(
                (
                    self.service,
                    event.envelope.id,
                    key,
                    raw.topic,
                    raw.key,
                    raw.value,
                    [name for name, _ in raw.headers],
                    [value for _, value in raw.headers],
                )
            )
        if not rows:
            return
        await conn.executemany(
            """
            INSERT INTO parked_record (consumer, event_id, key, topic, message_key, payload,
                                       header_names, header_values)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT DO NOTHING
            """,
            rows,
        )

    async def unpark(self, conn: Connection, keys: Sequence[str], handler: BatchHandler[M]) -> int:
        """Apply the records parked under these keys with `handler`, in arrival order, and
        dead-letter what it refuses; returns how many records were taken out of the park."""
        if not keys:
            return 0
        rows = await conn.fetch(
            f"""
            DELETE FROM parked_record WHERE consumer = $1 AND key = ANY($2::text[])
            RETURNING {_COLUMNS}
            """,
            self.service,
            list(set(keys)),
        )
        parked = sorted((_parked(row) for row in rows), key=lambda p: (p.parked_at, p.seq))
        events: list[Decoded[M]] = []
        by_id: dict[str, ParkedRecord] = {}
        for record in parked:
            event = self._decode(record)
            if isinstance(event, InvalidEvent):
                await self._refuse(conn, record, event)
                continue
            events.append(event)
            by_id[record.event_id] = record
        if events:
            for refusal in await handler(conn, events):
                await self._refuse(conn, by_id[refusal.event_id], refusal.error)
        return len(parked)

    async def unpark_known(
        self,
        conn: Connection,
        *,
        known: KnownKeys,
        handler: BatchHandler[M],
        after: str,
        limit: int,
    ) -> tuple[int, str | None]:
        """Apply the records parked under keys the service knows by now, for up to `limit`
        parked keys after `after` (in key order); returns how many records were applied or
        refused and the last key looked at (None: no more keys)."""
        keys = [
            row["key"]
            for row in await conn.fetch(
                """
                SELECT DISTINCT key FROM parked_record WHERE consumer = $1 AND key > $2
                ORDER BY key LIMIT $3
                """,
                self.service,
                after,
                limit,
            )
        ]
        if not keys:
            return 0, None
        found = await known(conn, keys)
        return await self.unpark(conn, sorted(found), handler), keys[-1]

    async def dead_letter_stale(self, conn: Connection, *, before: datetime, limit: int) -> int:
        """Dead-letter up to `limit` records parked before `before`, oldest first (another
        replica's sweep skips the rows this one holds); returns how many."""
        rows = await conn.fetch(
            """
            WITH stale AS (
                SELECT event_id FROM parked_record WHERE consumer = $1 AND parked_at < $2
                ORDER BY parked_at, seq LIMIT $3
                FOR UPDATE SKIP LOCKED
            )
            DELETE FROM parked_record p USING stale
            WHERE p.consumer = $1 AND p.event_id = stale.event_id
            RETURNING p.event_id, p.key, p.topic, p.message_key, p.payload, p.header_names,
                      p.header_values, p.parked_at, p.seq
            """,
            self.service,
            before,
            limit,
        )
        for record in sorted((_parked(row) for row in rows), key=lambda p: (p.parked_at, p.seq)):
            await self._refuse(conn, record, self._stale_error(record))
        return len(rows)

    async def waiting(self, conn: Connection) -> int:
        """How many records wait in this service's park."""
        count: int = await conn.fetchval(
            "SELECT count(*) FROM parked_record WHERE consumer = $1", self.service
        )
        return count

    def _decode(self, record: ParkedRecord) -> Decoded[M] | InvalidEvent:
        try:
            decoded = decode_event(record.raw.value, self._models, record.raw.headers)
        except InvalidEvent as refused:  # it decoded when parked: the models changed since
            return refused
        if isinstance(decoded, UnknownType):
            return InvalidEvent(
                "processing-failed", f"a parked {decoded.event_type} is no longer handled"
            )
        return msgspec.structs.replace(decoded, raw=record.raw)

    async def _refuse(self, conn: Connection, record: ParkedRecord, error: InvalidEvent) -> None:
        """Forget the record's id (a corrected event under the same id may apply) and send it to
        the dead-letter topic unchanged, with the reason."""
        await inbox.release(conn, self.service, record.event_id)
        await dead_letter(
            conn,
            service=self.service,
            position=record.position,
            topic=record.raw.topic,
            key=record.raw.key,
            value=record.raw.value,
            headers=record.raw.headers,
            error=error,
            event_type=_event_type(record.raw),
        )


def _event_type(raw: RawRecord) -> str:
    """The record's CloudEvents `type`, for the metric's label."""
    if is_binary_mode(raw.headers):
        return header_value(raw.headers, "ce_type") or "?"
    try:
        value = orjson.loads(raw.value or b"")
    except orjson.JSONDecodeError:
        return "?"
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else "?"


async def sweep(
    pool: asyncpg.Pool,
    parking: Parking[M],
    *,
    now: datetime,
    max_age: timedelta,
    known: KnownKeys,
    handler: BatchHandler[M],
    batch: int = SWEEP_BATCH,
) -> tuple[int, int]:
    """Apply the records whose key is known by now (`handler` judges them as on arrival), then
    dead-letter every record parked more than `max_age` before `now`, a batch per transaction;
    returns how many of each."""
    applied, after = 0, ""
    while True:
        async with pool.acquire() as conn, conn.transaction():
            done, last = await parking.unpark_known(
                conn, known=known, handler=handler, after=after, limit=batch
            )
        applied += done
        if last is None:
            break
        after = last
    stale = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            done = await parking.dead_letter_stale(conn, before=now - max_age, limit=batch)
        stale += done
        if done < batch:
            return applied, stale


class ParkingSweeper(PeriodicJob, Generic[M]):
    """Runs `sweep` every `interval_s`, with an injectable clock."""

    failure = "parking sweep failed"

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        parking: Parking[M],
        max_age: timedelta,
        known: KnownKeys,
        handler: BatchHandler[M],
        interval_s: float = SWEEP_INTERVAL_S,
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(name=f"{parking.service}-parking-sweeper", interval_s=interval_s)
        self._pool = pool
        self._parking = parking
        self._max_age = max_age
        self._known = known
        self._handler = handler
        self._clock = clock

    async def run_once(self) -> None:
        applied, stale = await sweep(
            self._pool,
            self._parking,
            now=self._clock(),
            max_age=self._max_age,
            known=self._known,
            handler=self._handler,
        )
        if applied or stale:
            log.info("parking swept", applied_late=applied, dead_lettered=stale)
