"""Which refunds an order can take (docs/events.md#refunds), judged one way by every service that
reads `purchase.refunded`: the checks and their codes, a batch judged in order (`judge_batch`),
the park where a refund waits for its order (`refund_parking`), and the handler a service that
keeps orders builds from them (`RefundIntake`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from decimal import Decimal

import asyncpg

from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseRefundedV1, Refund
from loyalty_shared.events.decoding import InvalidEvent
from loyalty_shared.kafka.parking import ParkedRecord, Parking, ParkingSweeper
from loyalty_shared.kafka.routing import Refusal


@dataclass(slots=True)
class OrderRefunds:
    """What a service knows of an order: `currency` or `total` is None when it was recorded
    before the service kept them (then a refund of it cannot be judged)."""

    order_id: str
    member_id: str
    currency: str | None
    total: Decimal | None
    refunded: Decimal


def judge(order: OrderRefunds, refund: PurchaseRefundedV1, *, known: bool) -> InvalidEvent | None:
    """Why `order` cannot take `refund` (`known`: its refund id was applied already), or None."""
    if order.member_id != refund.member_id:
        return InvalidEvent("member-mismatch", f"order {refund.order_id} belongs to another member")
    if order.currency is None or order.total is None:
        return InvalidEvent(
            "order-total-unknown",
            f"order {refund.order_id} was recorded before its total and currency were kept, "
            "so what is left to refund is unknown",
        )
    if order.currency != refund.currency:
        return InvalidEvent(
            "currency-mismatch",
            f"order {refund.order_id} was paid in {order.currency}, not {refund.currency}",
        )
    if known:
        return InvalidEvent("duplicate-refund", f"refund {refund.refund_id} was applied already")
    left = order.total - order.refunded
    if refund.amount > left:
        return InvalidEvent(
            "refund-exceeds-order",
            f"refund of {refund.amount} exceeds the {left} left to refund on order "
            f"{refund.order_id} (total {order.total})",
        )
    return None


class RefundBook:
    """The orders and refund ids a batch of refunds is judged against, kept up to date as
    refunds are accepted."""

    def __init__(self, orders: Iterable[OrderRefunds], known_refund_ids: Iterable[str]) -> None:
        self._orders = {order.order_id: order for order in orders}
        self._known = set(known_refund_ids)

    def order(self, order_id: str) -> OrderRefunds | None:
        return self._orders.get(order_id)

    def accept(self, refund: PurchaseRefundedV1) -> InvalidEvent | None:
        """Judge `refund` against its order (which must be known) and, if it is taken, count
        it: returns why not, or None."""
        order = self._orders[refund.order_id]
        error = judge(order, refund, known=refund.refund_id in self._known)
        if error is None:
            self._known.add(refund.refund_id)
            order.refunded += refund.amount
        return error


@dataclass(frozen=True, slots=True)
class Verdicts:
    """A batch of refunds sorted: those to apply, those waiting for their order (order id,
    event: park them), and those refused (dead-lettered by the runner)."""

    accepted: list[Refund] = field(default_factory=list)
    waiting: list[tuple[str, Refund]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


def judge_batch(
    events: Sequence[Refund], orders: Iterable[OrderRefunds], known_refund_ids: Iterable[str]
) -> Verdicts:
    """Judge `purchase.refunded` events in order against the orders they name (those the service
    has seen) and the refund ids among theirs it applied before."""
    book = RefundBook(orders, known_refund_ids)
    verdicts = Verdicts()
    for event in events:
        refund = event.data
        if book.order(refund.order_id) is None:
            verdicts.waiting.append((refund.order_id, event))
            continue
        error = book.accept(refund)
        if error is None:
            verdicts.accepted.append(event)
        else:
            verdicts.refusals.append(Refusal(event.envelope.id, error))
    return verdicts


def unknown_order(record: ParkedRecord) -> InvalidEvent:
    """Why a refund that waited for its purchase too long is refused (its key is the order)."""
    return InvalidEvent(
        "unknown-order",
        f"no purchase of order {record.key} arrived since the refund was parked at "
        f"{record.parked_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
    )


def refund_parking(service: str) -> Parking[PurchaseRefundedV1]:
    """The park of a service's refunds whose order it has not seen, keyed by order id."""
    return Parking(
        service=service,
        models={PurchaseRefundedV1.TYPE: PurchaseRefundedV1},
        stale_error=unknown_order,
    )


#: The orders of these ids the service has recorded, locked until the batch commits.
OrdersOf = Callable[[Connection, Sequence[str]], Awaitable[Sequence[OrderRefunds]]]
#: Records the refunds the service accepted.
RecordRefunds = Callable[[Connection, Sequence[Refund]], Awaitable[None]]


async def applied_refunds(conn: Connection, refund_ids: Sequence[str]) -> set[str]:
    """Which of these refund ids the service has applied: each service that reads refunds keeps
    those it applied in a `refund` table of its own, keyed by `refund_id`."""
    rows = await conn.fetch(
        "SELECT refund_id FROM refund WHERE refund_id = ANY($1::text[])", list(set(refund_ids))
    )
    return {row["refund_id"] for row in rows}


class RefundIntake:
    """How a service that keeps orders takes `purchase.refunded`: judged in arrival order against
    their orders, the accepted recorded (`record`), those whose order has not come parked until
    it does (`unpark`, from the purchases' handler) or the sweeper gives up on them."""

    def __init__(self, *, service: str, orders: OrdersOf, record: RecordRefunds) -> None:
        self.parking = refund_parking(service)
        self._orders = orders
        self._record = record

    async def handle(self, conn: Connection, events: Sequence[Refund]) -> Sequence[Refusal]:
        """The batch handler of `purchase.refunded`."""
        orders = await self._orders(conn, [e.data.order_id for e in events])
        applied = await applied_refunds(conn, [e.data.refund_id for e in events])
        verdicts = judge_batch(events, orders, applied)
        await self.parking.park(conn, verdicts.waiting)
        if verdicts.accepted:
            await self._record(conn, verdicts.accepted)
        return verdicts.refusals

    async def unpark(self, conn: Connection, order_ids: Collection[str]) -> None:
        """The refunds that waited for these orders, recorded just now, judged now."""
        await self.parking.unpark(conn, sorted(order_ids), self.handle)

    async def known_orders(self, conn: Connection, order_ids: Sequence[str]) -> set[str]:
        """Which of these orders the service has recorded by now."""
        return {order.order_id for order in await self._orders(conn, order_ids)}

    def sweeper(
        self, pool: asyncpg.Pool, *, max_age: timedelta, clock: Clock
    ) -> ParkingSweeper[PurchaseRefundedV1]:
        """The job that judges refunds parked in a race with their purchase, and dead-letters
        those whose purchase has not come within `max_age` as `unknown-order`."""
        return ParkingSweeper(
            pool=pool,
            parking=self.parking,
            max_age=max_age,
            known=self.known_orders,
            handler=self.handle,
            clock=clock,
        )
