"""SQL of refunds: the order as credited, refunds already applied, parked refunds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg

from loyalty_shared.db import Connection


async def order_for_update(conn: Connection, order_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT order_id, member_id, currency, total, points, refunded_total, points_reversed,
               points_forgiven
        FROM purchase WHERE order_id = $1
        FOR UPDATE
        """,
        order_id,
    )
    return row


@dataclass(frozen=True, slots=True)
class OrderLot:
    id: int
    status: Literal["pending", "available"]
    remaining: int


async def order_lot(conn: Connection, order_id: str) -> OrderLot | None:
    """The lot the order's points went to (none for an order that earned nothing)."""
    row = await conn.fetchrow(
        "SELECT id, status, remaining FROM points_lot WHERE order_id = $1", order_id
    )
    return OrderLot(**dict(row)) if row is not None else None


async def refund_known(conn: Connection, refund_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM refund WHERE refund_id = $1", refund_id))


async def record_refund(
    conn: Connection,
    *,
    refund_id: str,
    order_id: str,
    member_id: str,
    event_id: str,
    amount: Decimal,
    points: int,
    forgiven: int,
    refunded_at: datetime,
) -> None:
    await conn.execute(
        """
        WITH r AS (
            INSERT INTO refund (refund_id, order_id, member_id, event_id, amount, points,
                                refunded_at, points_forgiven)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        )
        UPDATE purchase SET refunded_total = refunded_total + $5,
                            points_reversed = points_reversed + $6,
                            points_forgiven = points_forgiven + $8
        WHERE order_id = $2
        """,
        refund_id,
        order_id,
        member_id,
        event_id,
        amount,
        points,
        refunded_at,
        forgiven,
    )


async def park(
    conn: Connection,
    *,
    event_id: str,
    order_id: str,
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
) -> None:
    await conn.execute(
        """
        INSERT INTO parked_refund (event_id, order_id, topic, message_key, payload, header_names,
                                   header_values)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT DO NOTHING
        """,
        event_id,
        order_id,
        topic,
        key,
        value,
        [name for name, _ in headers],
        [value for _, value in headers],
    )


async def unpark(conn: Connection, order_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Take the parked refunds of orders that have just been credited, oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        DELETE FROM parked_refund WHERE order_id = ANY($1::text[])
        RETURNING event_id, order_id, topic, message_key, payload, header_names, header_values,
                  parked_at
        """,
        list(order_ids),
    )
    return sorted(rows, key=lambda r: r["parked_at"])


async def unpark_stale(conn: Connection, *, before: datetime, limit: int) -> list[asyncpg.Record]:
    """Take the parked refunds that waited since before `before` (their purchase never came)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        WITH stale AS (
            SELECT event_id FROM parked_refund WHERE parked_at < $1
            ORDER BY parked_at LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM parked_refund p USING stale WHERE p.event_id = stale.event_id
        RETURNING p.event_id, p.order_id, p.topic, p.message_key, p.payload, p.header_names,
                  p.header_values, p.parked_at
        """,
        before,
        limit,
    )
    return rows


async def parked_for_known_orders(conn: Connection, *, limit: int) -> list[str]:
    """Orders credited by now that still have refunds parked: the purchase was being credited by
    another consumer while the refund was judged, so neither saw the other's rows."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT p.order_id FROM parked_refund p JOIN purchase USING (order_id)
        ORDER BY p.order_id LIMIT $1
        """,
        limit,
    )
    return [row["order_id"] for row in rows]
