"""`purchase.refunded` → points reversed in proportion to the amount refunded.

The order's cumulative reversal is `floor(points * refunded / total)`, so the reversals of one
order never add up to more than it earned and a full refund reverses exactly what it earned.
Pending points (the order is still in its return window) come out of `pending`; what matured
comes out of `available` as the program's refund policy says: `proportional` (the contract's
default) takes it even below zero, `pending_only` takes none of it, `within_balance` takes at most
what is available. What a policy does not take is forgiven for good: recorded on the order, so a
later refund of the same order never takes it either.

A refund for an order not credited yet is parked and applied when the purchase arrives (the
backend may publish the two out of order across retries); if no purchase comes within the wait
the program allows (`LOYALTY_POINTS_PARKED_REFUND_MAX_AGE_DAYS`), a scheduled job dead-letters it
as `unknown-order`. A refund that names another member or currency, repeats a refund id, or
exceeds what is left to refund is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import asyncpg

from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.refunds import repository
from loyalty_shared.db import Connection, inbox
from loyalty_shared.events.commerce import PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded, InvalidEvent, RawRecord, decode_event
from loyalty_shared.events.loyalty import PointsReversedV1
from loyalty_shared.kafka.dead_letters import dead_letter
from loyalty_shared.kafka.routing import BatchHandler, Refusal
from loyalty_shared.program.schema import RefundPolicy

SERVICE = "points"


def cumulative_reversal(points: int, total: Decimal, refunded: Decimal) -> int:
    if refunded >= total:
        return points
    return int((points * refunded / total).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class Reversal:
    points: int  # taken back
    forgiven: int  # due by proportion, left with the member by the policy


async def _reversal(
    conn: Connection, *, due: int, bucket: str, member_id: str, policy: RefundPolicy
) -> Reversal:
    if bucket == "pending" or policy == "proportional" or due == 0:
        return Reversal(due, 0)
    if policy == "pending_only":
        return Reversal(0, due)
    available = await ledger.lock_account(conn, member_id)
    taken = min(due, max(available, 0))
    return Reversal(taken, due - taken)


async def apply_refund(
    conn: Connection, event: Decoded[PurchaseRefundedV1], policy: RefundPolicy
) -> InvalidEvent | None:
    """Apply one refund, or say why not (having written nothing)."""
    refund = event.data
    order = await repository.order_for_update(conn, refund.order_id)
    if order is None:
        assert event.raw is not None
        assert event.raw.value is not None  # it decoded, so it has one
        await repository.park(
            conn,
            event_id=event.envelope.id,
            order_id=refund.order_id,
            topic=event.raw.topic,
            key=event.raw.key,
            value=event.raw.value,
            headers=event.raw.headers,
        )
        return None
    if order["member_id"] != refund.member_id:
        return InvalidEvent("member-mismatch", f"order {refund.order_id} belongs to another member")
    if order["currency"] != refund.currency:
        return InvalidEvent(
            "currency-mismatch",
            f"order {refund.order_id} was paid in {order['currency']}, not {refund.currency}",
        )
    if await repository.refund_known(conn, refund.refund_id):
        return InvalidEvent("duplicate-refund", f"refund {refund.refund_id} was applied already")
    left = order["total"] - order["refunded_total"]
    if refund.amount > left:
        return InvalidEvent(
            "refund-exceeds-order",
            f"refund of {refund.amount} exceeds the {left} left to refund on order "
            f"{refund.order_id} (total {order['total']})",
        )
    refunded = order["refunded_total"] + refund.amount
    due = (
        cumulative_reversal(order["points"], order["total"], refunded)
        - order["points_reversed"]
        - order["points_forgiven"]
    )
    bucket = order["lot_status"] or "available"
    reversal = await _reversal(
        conn, due=due, bucket=bucket, member_id=refund.member_id, policy=policy
    )
    reverse = reversal.points
    lot_taken = min(reverse, order["remaining"] or 0)
    await repository.record_refund(
        conn,
        refund_id=refund.refund_id,
        order_id=refund.order_id,
        member_id=refund.member_id,
        event_id=event.envelope.id,
        amount=refund.amount,
        points=reverse,
        forgiven=reversal.forgiven,
        refunded_at=event.envelope.time,
        lot_id=order["lot_id"],
        lot_taken=lot_taken,
    )
    if reverse == 0:
        return None
    await ledger.record(
        conn,
        ledger.Movement(
            member_id=refund.member_id,
            kind="reverse",
            actor="system:refund",
            occurred_at=event.envelope.time,
            available_delta=-reverse if bucket == "available" else 0,
            pending_delta=-reverse if bucket == "pending" else 0,
            lifetime_delta=-reverse,
            order_id=refund.order_id,
            lot_id=order["lot_id"],
            cause_event_id=event.envelope.id,
            details={
                "refund_id": refund.refund_id,
                "amount": str(refund.amount),
                "refunded_total": str(refunded),
                "order_total": str(order["total"]),
                "order_points": order["points"],
                "refund_policy": policy,
                "forgiven": reversal.forgiven,
            },
        ),
    )
    await emit(
        conn,
        PointsReversedV1(
            member_id=refund.member_id,
            order_id=refund.order_id,
            refund_id=refund.refund_id,
            points=reverse,
            bucket=bucket,
            refunded_amount=str(refund.amount),
            causation_id=event.envelope.id,
        ),
    )
    return None


def purchase_refunded_handler(policy: RefundPolicy) -> BatchHandler[PurchaseRefundedV1]:
    async def on_purchases_refunded(
        conn: Connection, events: Sequence[Decoded[PurchaseRefundedV1]]
    ) -> Sequence[Refusal]:
        refusals = []
        for event in events:
            error = await apply_refund(conn, event, policy)
            if error is not None:
                refusals.append(Refusal(event.envelope.id, error))
        return refusals

    return on_purchases_refunded


def _raw(row: asyncpg.Record) -> RawRecord:
    return RawRecord(
        row["topic"],
        row["message_key"],
        row["payload"],
        tuple(zip(row["header_names"], row["header_values"], strict=True)),
    )


async def _refuse_parked(conn: Connection, row: asyncpg.Record, error: InvalidEvent) -> None:
    """Forget the parked refund's id, so a corrected refund under the same id applies, and send
    it to the dead-letter topic with the reason."""
    raw = _raw(row)
    await inbox.release(conn, SERVICE, row["event_id"])
    await dead_letter(
        conn,
        service=SERVICE,
        position=f"parked:{row['event_id']}",
        topic=raw.topic,
        key=raw.key,
        value=raw.value,
        headers=raw.headers,
        error=error,
        event_type=PurchaseRefundedV1.TYPE,
    )


async def apply_parked_refunds(
    conn: Connection, order_ids: Sequence[str], policy: RefundPolicy
) -> None:
    """The refunds that waited for these orders, applied now (or dead-lettered, with reason)."""
    for row in await repository.unpark(conn, order_ids):
        raw = _raw(row)
        decoded = decode_event(raw.value, {PurchaseRefundedV1.TYPE: PurchaseRefundedV1})
        assert isinstance(decoded, Decoded)
        error = await apply_refund(conn, Decoded(decoded.envelope, decoded.data, raw), policy)
        if error is not None:
            await _refuse_parked(conn, row, error)


async def apply_refunds_parked_in_a_race(
    conn: Connection, policy: RefundPolicy, *, limit: int
) -> int:
    """Refunds parked for orders that are credited now, applied (the scheduled jobs run this).

    A refund naming another member's order, or any refund on another partition than its purchase,
    is judged by another consumer than the purchase. When both run at once neither sees the
    other's uncommitted rows: the refund is parked just as its purchase is credited, and the
    purchase's look for parked refunds finds none. Locking every credited order in the crediting
    transaction would close that window at a cost on every purchase (and a batch's thousands of
    advisory locks can exhaust PostgreSQL's lock table); instead the next run of the jobs takes
    such refunds out of the park, at most an interval of the jobs later."""
    order_ids = await repository.parked_for_known_orders(conn, limit=limit)
    await apply_parked_refunds(conn, order_ids, policy)
    return len(order_ids)


async def dead_letter_stale_parked(conn: Connection, *, before: datetime, limit: int) -> int:
    """Refunds that waited for their purchase since before `before` go to the dead-letter topic
    as `unknown-order`: the order never reached this service."""
    rows = await repository.unpark_stale(conn, before=before, limit=limit)
    for row in rows:
        error = InvalidEvent(
            "unknown-order",
            f"no purchase of order {row['order_id']} arrived since the refund was parked at "
            f"{row['parked_at']:%Y-%m-%dT%H:%M:%SZ}",
        )
        await _refuse_parked(conn, row, error)
    return len(rows)
