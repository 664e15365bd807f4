"""SQL of the orders and refunds the service learns from `commerce.purchases`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import Purchase, Refund
from loyalty_shared.events.refunds import OrderRefunds


async def add_purchases(conn: Connection, purchases: Sequence[Purchase]) -> set[str]:
    """Record each order once; returns the order ids recorded now (not before)."""
    rows = await conn.fetch(
        """
        INSERT INTO purchase (order_id, member_id, channel, currency, total, purchased_at)
        SELECT DISTINCT ON (order_id) *
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[],
                    $6::timestamptz[]) AS i (order_id, member_id, channel, currency, total, at)
        ON CONFLICT (order_id) DO NOTHING
        RETURNING order_id
        """,
        [p.data.order_id for p in purchases],
        [p.data.member_id for p in purchases],
        [p.data.channel for p in purchases],
        [p.data.currency for p in purchases],
        [p.data.total for p in purchases],
        [p.envelope.time for p in purchases],
    )
    return {row["order_id"] for row in rows}


async def schedule_invitations(
    conn: Connection,
    *,
    invitation_ids: Sequence[uuid.UUID],
    order_ids: Sequence[str],
    due_at: Sequence[datetime],
) -> None:
    await conn.execute(
        """
        INSERT INTO invitation (invitation_id, member_id, order_id, channel, purchased_at, due_at)
        SELECT i.invitation_id, p.member_id, p.order_id, p.channel, p.purchased_at, i.due_at
        FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS i (invitation_id, order_id,
                                                                      due_at)
        JOIN purchase p USING (order_id)
        ON CONFLICT DO NOTHING
        """,
        list(invitation_ids),
        list(order_ids),
        list(due_at),
    )


async def orders_for_update(conn: Connection, order_ids: Sequence[str]) -> list[OrderRefunds]:
    """The orders refunds name, with what was refunded of them, locked until the batch commits
    (in a fixed order)."""
    rows = await conn.fetch(
        """
        SELECT p.order_id, p.member_id, p.currency, p.total,
               (SELECT coalesce(sum(r.amount), 0) FROM refund r WHERE r.order_id = p.order_id)
                   AS refunded
        FROM purchase p WHERE p.order_id = ANY($1::text[])
        ORDER BY p.order_id FOR UPDATE OF p
        """,
        list(set(order_ids)),
    )
    return [OrderRefunds(**row) for row in rows]


async def add_refunds(conn: Connection, refunds: Sequence[Refund]) -> None:
    await conn.execute(
        """
        INSERT INTO refund (refund_id, order_id, member_id, amount, refunded_at)
        SELECT DISTINCT ON (refund_id) *
        FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[])
             AS i (refund_id, order_id, member_id, amount, at)
        ON CONFLICT (refund_id) DO NOTHING
        """,
        [r.data.refund_id for r in refunds],
        [r.data.order_id for r in refunds],
        [r.data.member_id for r in refunds],
        [r.data.amount for r in refunds],
        [r.envelope.time for r in refunds],
    )
