"""The dead letters' SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from loyalty_shared.db import Connection, Pool

_ENTRY = """
    id, topic, code, detail, event_type, event_id, message_key, dead_lettered_at, replayed_at,
    replayed_by, replay_outcome
"""


def _text(field: str | None) -> str | None:
    """A field as PostgreSQL text can hold it: a NUL (refused in text) shown as U+FFFD."""
    return None if field is None else field.replace("\x00", "\ufffd")


async def keep(
    conn: Connection,
    *,
    position: str,
    topic: str,
    code: str,
    detail: str,
    event_type: str,
    event_id: str | None,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
) -> int:
    dead_letter_id: int = await conn.fetchval(
        """
        INSERT INTO dead_letter (position, topic, code, detail, event_type, event_id,
                                 message_key, payload, header_names, header_values)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING id
        """,
        *(_text(field) for field in (position, topic, code, detail, event_type, event_id)),
        key,
        value,
        [name for name, _ in headers],
        [value for _, value in headers],
    )
    return dead_letter_id


async def summary(conn: Connection | Pool, since: datetime) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT topic, code, count(*)::int AS count,
               count(*) FILTER (WHERE replayed_at IS NULL)::int AS waiting,
               max(dead_lettered_at) AS latest_at
        FROM dead_letter WHERE dead_lettered_at >= $1
        GROUP BY topic, code ORDER BY count DESC, topic, code
        """,
        since,
    )
    return rows


async def page(
    conn: Connection | Pool,
    *,
    topic: str | None,
    code: str | None,
    waiting: bool,
    before_id: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT {_ENTRY} FROM dead_letter
        WHERE ($1::text IS NULL OR topic = $1) AND ($2::text IS NULL OR code = $2)
          AND (NOT $3 OR replayed_at IS NULL)
          AND ($4::bigint IS NULL OR id < $4)
        ORDER BY id DESC LIMIT $5
        """,
        topic,
        code,
        waiting,
        before_id,
        limit,
    )
    return rows


async def one(
    conn: Connection, dead_letter_id: int, *, lock: bool = False
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_ENTRY}, position, payload, header_names, header_values
        FROM dead_letter WHERE id = $1 {"FOR UPDATE" if lock else ""}
        """,
        dead_letter_id,
    )
    return None if row is None else dict(row)


async def waiting_ids(
    conn: Connection, *, topic: str | None, code: str | None, limit: int
) -> list[int]:
    """The oldest dead letters not replayed yet; ones another replay holds are passed over."""
    rows = await conn.fetch(
        """
        SELECT id FROM dead_letter
        WHERE replayed_at IS NULL AND ($1::text IS NULL OR topic = $1)
          AND ($2::text IS NULL OR code = $2)
        ORDER BY id LIMIT $3
        FOR UPDATE SKIP LOCKED
        """,
        topic,
        code,
        limit,
    )
    return [row["id"] for row in rows]


async def count_waiting(conn: Connection, *, topic: str | None, code: str | None) -> int:
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM dead_letter
        WHERE replayed_at IS NULL AND ($1::text IS NULL OR topic = $1)
          AND ($2::text IS NULL OR code = $2)
        """,
        topic,
        code,
    )
    return count


async def at_position(conn: Connection, position: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, code, detail FROM dead_letter WHERE position = $1 ORDER BY id DESC LIMIT 1",
        position,
    )
    return row


async def mark_replayed(
    conn: Connection, dead_letter_id: int, *, by: str, outcome: str, at: datetime
) -> None:
    await conn.execute(
        """
        UPDATE dead_letter SET replayed_at = $2, replayed_by = $3, replay_outcome = $4
        WHERE id = $1
        """,
        dead_letter_id,
        at,
        by,
        outcome,
    )


async def forget_older_than(conn: Connection, *, days: int, limit: int) -> int:
    deleted: str = await conn.execute(
        """
        DELETE FROM dead_letter
        WHERE id = ANY(ARRAY(
            SELECT id FROM dead_letter
            WHERE dead_lettered_at < now() - make_interval(days => $1)
            ORDER BY id LIMIT $2
            FOR UPDATE SKIP LOCKED
        ))
        """,
        days,
        limit,
    )
    return int(deleted.split()[-1])
