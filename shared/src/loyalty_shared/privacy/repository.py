"""SQL of erasure every service shares: the register, the outbox, the park, the export's rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from loyalty_shared.db import Connection
from loyalty_shared.events.decoding import RawRecord


@dataclass(frozen=True, slots=True)
class Erasure:
    """One entry of the register: a request applied to a member."""

    member_id: str
    request_id: str
    requested_at: datetime
    erased_at: datetime


async def register(conn: Connection, erasures: Sequence[Erasure]) -> None:
    await conn.execute(
        """
        INSERT INTO member_erasure (member_id, request_id, requested_at, erased_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
        ON CONFLICT DO NOTHING
        """,
        [e.member_id for e in erasures],
        [e.request_id for e in erasures],
        [e.requested_at for e in erasures],
        [e.erased_at for e in erasures],
    )


async def erasures_of(conn: Connection, member_id: str) -> list[Erasure]:
    rows = await conn.fetch(
        """
        SELECT member_id, request_id, requested_at, erased_at FROM member_erasure
        WHERE member_id = $1 ORDER BY erased_at, request_id
        """,
        member_id,
    )
    return [Erasure(**dict(row)) for row in rows]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    topic: str
    payload: bytes | None
    headers: tuple[tuple[str, bytes], ...]


async def unpublished_for(conn: Connection, member_ids: Sequence[str]) -> list[OutboxRow]:
    """The outbox rows keyed by these members (every event is keyed by its member), locked:
    the relay may still publish a row it read before this transaction, which is then the same
    as its having been published a moment before the erasure."""
    rows = await conn.fetch(
        """
        SELECT id, topic, payload, header_names, header_values FROM outbox
        WHERE message_key = ANY($1::bytea[])
        ORDER BY id FOR UPDATE
        """,
        [m.encode() for m in member_ids],
    )
    return [
        OutboxRow(
            r["id"],
            r["topic"],
            r["payload"],
            tuple(zip(r["header_names"], r["header_values"], strict=True)),
        )
        for r in rows
    ]


async def rewrite_outbox(conn: Connection, rows: Sequence[OutboxRow]) -> None:
    if rows:
        await conn.executemany(
            """
            UPDATE outbox SET payload = $2, header_names = $3, header_values = $4 WHERE id = $1
            """,
            [(r.id, r.payload, [k for k, _ in r.headers], [v for _, v in r.headers]) for r in rows],
        )


async def drop_outbox(conn: Connection, ids: Sequence[int]) -> None:
    if ids:
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", list(ids))


async def erase_dead_letters(
    conn: Connection, member_ids: Sequence[str], *, detail: str, at: datetime
) -> None:
    """The dead letters this service keeps for operators about these members (keyed by them)
    lose their record, headers and detail; those still waiting are closed as `erased`."""
    await conn.execute(
        """
        UPDATE dead_letter
        SET payload = NULL, header_names = '{}', header_values = '{}', detail = $2,
            replayed_at = coalesce(replayed_at, $3), replayed_by = coalesce(replayed_by, 'erasure'),
            replay_outcome = coalesce(replay_outcome, 'erased')
        WHERE message_key = ANY($1::bytea[])
        """,
        [m.encode() for m in member_ids],
        detail,
        at,
    )


@dataclass(frozen=True, slots=True)
class Parked:
    event_id: str
    raw: RawRecord
    parked_at: datetime


async def parked(conn: Connection, consumer: str, *, lock: bool = True) -> list[Parked]:
    """Every record this service keeps in `parked_record` (refunds waiting for their purchase: a
    few, for days at most), locked unless told. Which member a record concerns is in its
    payload, so the caller picks; a member id escaped in JSON would slip past a text search."""
    rows = await conn.fetch(
        f"""
        SELECT event_id, topic, message_key, payload, header_names, header_values, parked_at
        FROM parked_record WHERE consumer = $1 ORDER BY seq {"FOR UPDATE" if lock else ""}
        """,
        consumer,
    )
    return [
        Parked(
            r["event_id"],
            RawRecord(
                r["topic"],
                r["message_key"],
                r["payload"],
                tuple(zip(r["header_names"], r["header_values"], strict=True)),
            ),
            r["parked_at"],
        )
        for r in rows
    ]


async def rewrite_parked(conn: Connection, consumer: str, records: dict[str, RawRecord]) -> None:
    if records:
        await conn.executemany(
            """
            UPDATE parked_record SET payload = $3, header_names = $4, header_values = $5
            WHERE consumer = $1 AND event_id = $2
            """,
            [
                (
                    consumer,
                    event_id,
                    raw.value,
                    [k for k, _ in raw.headers],
                    [v for _, v in raw.headers],
                )
                for event_id, raw in records.items()
            ],
        )


async def drop_parked(conn: Connection, consumer: str, event_ids: Sequence[str]) -> None:
    if event_ids:
        await conn.execute(
            "DELETE FROM parked_record WHERE consumer = $1 AND event_id = ANY($2::text[])",
            consumer,
            list(event_ids),
        )


async def rows_where(conn: Connection, sql: str, member_id: str) -> list[dict[str, Any]]:
    """The rows of one of the service's holdings (a fixed statement of its own, `$1` the
    member), as plain dicts for the export; bytes (a stored record) as the JSON they hold."""
    return [{k: _readable(v) for k, v in r.items()} for r in await conn.fetch(sql, member_id)]


def _readable(value: Any) -> Any:
    if not isinstance(value, bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.decode(errors="replace")
