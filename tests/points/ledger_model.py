"""A member's points as the contract and docs/points.md say they must be, written without the
service's code: lots that mature when their return window ends and expire when their time
comes, spends from the soonest-expiring points, refunds from the order's own lot first, and a
negative balance repaid by the first points that arrive. Time decides: every operation and every
read first lets what is due by then happen, in the order it happened."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

WINDOW = timedelta(days=14)
EXPIRY = timedelta(days=365)
_LOT_IDS = itertools.count(1)


def floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass
class Lot:
    left: int
    pending: bool
    available_at: datetime
    expires_at: datetime
    returned_at: datetime | None = None
    id: int = field(default_factory=lambda: next(_LOT_IDS))


@dataclass
class Order:
    total: Decimal
    points: int
    lot: Lot | None
    refunded: Decimal = Decimal(0)
    reversed: int = 0


@dataclass
class Spend:
    """What a redemption or a hold took from which lots."""

    points: int
    taken: dict[int, int]
    expires_at: datetime | None = None  # a hold's
    status: str = "active"


@dataclass
class Account:
    available: int = 0
    pending: int = 0
    held: int = 0
    lifetime: int = 0
    lots: list[Lot] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    holds: list[Spend] = field(default_factory=list)
    redemptions: list[Spend] = field(default_factory=list)

    # what time decides
    def settle(self, now: datetime) -> None:
        for hold in self.holds:  # holds that ran out give their points back first
            if hold.status == "active" and hold.expires_at and hold.expires_at <= now:
                self._give_back(hold.taken, hold.expires_at)
                self.available += hold.points
                self.held -= hold.points
                self._conform()
                hold.status = "expired"
        happenings: list[tuple[datetime, int, Lot]] = []
        for lot in self.lots:
            if lot.pending and lot.available_at <= now:
                happenings.append((lot.available_at, 0, lot))
            if lot.left > 0 and lot.expires_at <= now:
                at = max(lot.expires_at, lot.returned_at or lot.expires_at)
                happenings.append((min(at, now), 1, lot))
        for _, step, lot in sorted(happenings, key=lambda h: (h[0], h[1], h[2].id)):
            if step == 0:
                lot.pending = False
                repaid = min(lot.left, max(0, -self.available))
                self.available += lot.left
                self.pending -= lot.left
                lot.left -= repaid
            elif lot.left > 0:
                if lot.pending:
                    self.pending -= lot.left
                else:
                    self.available -= lot.left
                lot.left = 0

    def _conform(self) -> dict[int, int]:
        """The lots give up what `available` no longer holds, soonest to expire first."""
        usable = sorted(
            (lot for lot in self.lots if not lot.pending and lot.left > 0),
            key=lambda lot: (lot.expires_at, lot.id),
        )
        excess = sum(lot.left for lot in usable) - max(self.available, 0)
        taken: dict[int, int] = {}
        for lot in usable:
            if excess <= 0:
                break
            take = min(lot.left, excess)
            lot.left -= take
            excess -= take
            taken[lot.id] = take
        return taken

    def _give_back(self, taken: dict[int, int], at: datetime) -> None:
        for lot in self.lots:
            if lot.id in taken:
                lot.left += taken[lot.id]
                lot.returned_at = max(lot.returned_at or at, at)

    # what happens to the member
    def buy(self, order_id: str, total: Decimal, at: datetime, now: datetime) -> None:
        if order_id in self.orders:
            return  # a duplicate order id earns nothing
        points = floor(total)
        lot = Lot(points, True, at + WINDOW, at + EXPIRY) if points else None
        self.orders[order_id] = Order(total, points, lot)
        if lot is not None:
            self.lots.append(lot)
            self.pending += points
            self.lifetime += points
        self.settle(now)

    def refund(self, order_id: str, amount: Decimal, now: datetime) -> None:
        order = self.orders[order_id]
        self.settle(now)
        order.refunded += amount
        target = (
            order.points
            if order.refunded >= order.total
            else floor(order.points * order.refunded / order.total)
        )
        reverse, order.reversed = target - order.reversed, target
        if reverse == 0 or order.lot is None:
            return
        self.lifetime -= reverse
        own = min(reverse, order.lot.left)
        order.lot.left -= own
        if order.lot.pending:
            self.pending -= reverse
        else:
            self.available -= reverse
            self._conform()

    def redeem(self, points: int, now: datetime) -> bool:
        self.settle(now)
        if self.available < points:
            return False
        self.available -= points
        self.redemptions.append(Spend(points, self._conform(), status="completed"))
        return True

    def hold(self, points: int, ttl: timedelta, now: datetime) -> bool:
        self.settle(now)
        if self.available < points:
            return False
        self.available -= points
        self.held += points
        self.holds.append(Spend(points, self._conform(), expires_at=now + ttl))
        return True

    def release(self, hold: Spend, now: datetime) -> bool:
        """False: the hold was committed (409)."""
        self.settle(now)
        if hold.status != "active":
            return hold.status != "committed"
        self._give_back(hold.taken, now)
        self.available += hold.points
        self.held -= hold.points
        self._conform()
        self.settle(now)
        hold.status = "released"
        return True

    def commit(self, hold: Spend, now: datetime) -> bool:
        """False: the hold was released or ran out (409)."""
        self.settle(now)
        if hold.status != "active":
            return hold.status == "committed"
        self.held -= hold.points
        hold.status = "committed"
        self.redemptions.append(Spend(hold.points, hold.taken, status="completed"))
        return True

    def cancel(self, redemption: Spend, now: datetime) -> None:
        self.settle(now)
        if redemption.status == "cancelled":
            return
        self._give_back(redemption.taken, now)
        self.available += redemption.points
        self._conform()
        self.settle(now)
        redemption.status = "cancelled"

    def adjust(self, points: int, now: datetime) -> None:
        self.settle(now)
        if points > 0:
            self.lots.append(Lot(points, False, now, now + EXPIRY))
        self.available += points
        self.lifetime += points
        self._conform()

    def read(self, now: datetime) -> dict[str, object]:
        self.settle(now)
        expiring: dict[datetime, int] = {}
        for lot in self.lots:
            if not lot.pending and lot.left > 0 and lot.expires_at > now:
                expiring[lot.expires_at] = expiring.get(lot.expires_at, 0) + lot.left
        return {
            "available": self.available,
            "pending": self.pending,
            "held": self.held,
            "lifetime_earned": self.lifetime,
            "expiring": [(at, points) for at, points in sorted(expiring.items())],
        }

    def next_moments(self, now: datetime) -> list[datetime]:
        """When something will next happen by itself: a window's end, an expiry, a hold's."""
        moments = [lot.available_at for lot in self.lots if lot.pending]
        moments += [lot.expires_at for lot in self.lots if lot.left > 0]
        moments += [h.expires_at for h in self.holds if h.status == "active" and h.expires_at]
        return sorted(m for m in moments if m > now)
