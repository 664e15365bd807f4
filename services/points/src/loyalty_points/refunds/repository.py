"""SQL of refunds: the orders as credited, and the refunds applied to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from loyalty_shared.db import Connection
from loyalty_shared.events.refunds import OrderRefunds


async def orders_for_update(conn: Connection, order_ids: Sequence[str]) -> list[OrderRefunds]:
    """The credited orders refunds name, locked until the batch commits (in a fixed order)."""
    rows = await conn.fetch(
        """
        SELECT order_id, member_id, currency, total, refunded_total FROM purchase
        WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE
        """,
        list(set(order_ids)),
    )
    return [
        OrderRefunds(r["order_id"], r["member_id"], r["currency"], r["total"], r["refunded_total"])
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class CreditedOrder:
    """What an order earned and what its refunds have taken or forgiven so far."""

    total: Decimal
    points: int
    refunded_total: Decimal
    points_reversed: int
    points_forgiven: int
    #: taken by a review's void (abuse/)
    points_voided: int


async def order(conn: Connection, order_id: str) -> CreditedOrder:
    row = await conn.fetchrow(
        """
        SELECT total, points, refunded_total, points_reversed, points_forgiven, points_voided
        FROM purchase WHERE order_id = $1
        """,
        order_id,
    )
    assert row is not None, "the order was locked by orders_for_update"
    return CreditedOrder(**dict(row))


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
