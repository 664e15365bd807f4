"""SQL of refunds: the order as credited, refunds already applied, parked refunds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg

from loyalty_shared.db import Connection


async def order_for_update(conn: Connection, order_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT p.order_id, p.member_id, p.currency, p.total, p.points, p.refunded_total,
               p.points_reversed, p.points_forgiven, l.id AS lot_id, l.status AS lot_status,
               l.remaining
        FROM purchase p LEFT JOIN points_lot l ON l.order_id = p.order_id
        WHERE p.order_id = $1
        FOR UPDATE OF p
        """,
        order_id,
    )
    return row


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
    lot_id: int | None,
    lot_taken: int,
) -> None:
    await conn.execute(
        """
        WITH r AS (
            INSERT INTO refund (refund_id, order_id, member_id, event_id, amount, points,
                                refunded_at, points_forgiven)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $10)
        ), p AS (
            UPDATE purchase SET refunded_total = refunded_total + $5,
                                points_reversed = points_reversed + $6,
                                points_forgiven = points_forgiven + $10
            WHERE order_id = $2
        )
        UPDATE points_lot SET remaining = remaining - $9 WHERE id = $8
        """,
        refund_id,
        order_id,
        member_id,
        event_id,
        amount,
        points,
        refunded_at,
        lot_id,
        lot_taken,
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
