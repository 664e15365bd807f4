"""`purchase.refunded` → points reversed in proportion to the amount refunded.

The order's cumulative reversal is `floor(points * refunded / total)`, so the reversals of one
order never add up to more than it earned and a full refund reverses exactly what it earned.
Pending points come out of `pending`; what matured comes out of `available` as the program's
refund policy says (`proportional`, `pending_only`, `within_balance`); what a policy does not
take is forgiven for good, recorded on the order. Which refunds an order takes, and parking those
that come before their purchase, are every service's (loyalty_shared.events.refunds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loyalty_points.abuse.flagging import watch_refund
from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.settlement import open_account
from loyalty_points.refunds import repository
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import Refund
from loyalty_shared.events.loyalty import PointsReversedV1
from loyalty_shared.events.refunds import RefundIntake
from loyalty_shared.program.schema import Program, RefundPolicy


def cumulative_reversal(points: int, total: Decimal, refunded: Decimal) -> int:
    if refunded >= total:
        return points
    return int((points * refunded / total).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class Reversal:
    points: int  # taken back
    forgiven: int  # due by proportion, left with the member by the policy


def _reversal(*, due: int, bucket: str, available: int, policy: RefundPolicy) -> Reversal:
    if bucket == "pending" or policy == "proportional" or due == 0:
        return Reversal(due, 0)
    if policy == "pending_only":
        return Reversal(0, due)
    taken = min(due, max(available, 0))
    return Reversal(taken, due - taken)


def refund_intake(
    policy: RefundPolicy, clock: Clock, *, program: Program | None = None
) -> RefundIntake:
    """How the points service takes `purchase.refunded` (every service's judging and parking),
    each accepted refund reversed by `policy` at the batch's instant, and its member watched
    against `program`'s `[abuse]` thresholds (abuse/flagging.py)."""

    async def reverse(conn: Connection, accepted: Sequence[Refund]) -> None:
        now = clock()
        for event in accepted:
            await _reverse(conn, event, policy, now)
            if program is not None:
                await watch_refund(
                    conn,
                    program,
                    member_id=event.data.member_id,
                    cause_event_id=event.envelope.id,
                    now=now,
                )

    return RefundIntake(service="points", orders=repository.orders_for_update, record=reverse)


async def _reverse(conn: Connection, event: Refund, policy: RefundPolicy, now: datetime) -> None:
    """Record an accepted refund and take back what its order's points owe for it."""
    refund = event.data
    order = await repository.order(conn, refund.order_id)
    refunded = order.refunded_total + refund.amount
    due = max(
        0,
        cumulative_reversal(order.points, order.total, refunded)
        - order.points_reversed
        - order.points_forgiven
        # a review voided them already (abuse/): gone, not to be taken twice
        - order.points_voided,
    )
    # what time has decided first: the order's lot may have matured (or expired) by now
    available = await open_account(conn, refund.member_id, now)
    lot = await repository.order_lot(conn, refund.order_id)
    bucket = lot.status if lot is not None else "available"
    reversal = _reversal(due=due, bucket=bucket, available=available, policy=policy)
    reverse = reversal.points
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
    )
    if reverse == 0:
        return
    await ledger.move(
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
            lot_id=lot.id if lot is not None else None,
            cause_event_id=event.envelope.id,
            details={
                "refund_id": refund.refund_id,
                "amount": str(refund.amount),
                "refunded_total": str(refunded),
                "order_total": str(order.total),
                "order_points": order.points,
                "refund_policy": policy,
                "forgiven": reversal.forgiven,
            },
        ),
        first_from=(lot.id, min(reverse, lot.remaining)) if lot is not None else None,
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
