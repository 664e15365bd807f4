"""The oracle's own small model of the default program (contract section 2), stdlib only.

Nothing here imports the services: it is written from the contract and docs/events.md, so a
bug in a service cannot hide in a shared helper. The workload generator runs the same model to
know where a member's spend crosses a threshold (it puts a gate there, see workload.py).

What the model says about one member, event by event in the order they were published (one
member's events share a key, hence a partition, hence their order):

- earning: floor(total) x the tier multiplier, rounded down (CNY only; other currencies earn 0);
- a purchase older than the 14-day window is available at once, a younger one pending;
- a purchase older than 365 days expires when the points jobs run (all of it: the workload never
  refunds, redeems or adjusts against such lots, see workload.py);
- a refund reverses floor(points x refunded / total) cumulatively, from pending if the order's
  points are pending, else from available; a refund that arrives before its purchase waits (in
  every service) and is applied when the purchase comes, before the upgrade check;
- qualifying spend: CNY purchases within 365 days (by day) minus refunds; an upgrade when a
  purchase lifts the spend over a threshold (several thresholds at once: one change);
- a member action (contract 5.3) earns the default program's points for it at once, once per
  action id, the first `per_day` of a local day (Asia/Shanghai) or the member's first only;
  an action the program does not name earns nothing;
- a referral (contract 5.3) pays the referred member 200 and the referrer 500 once the referred
  member has a purchase past its return window (the workload gives referred members only
  purchases past it and no refunds, so the first is available and never voided); referring
  oneself earns nothing;
- a birthday that is today in the program's time zone earns the tier's `birthday_points` (bronze
  0, silver 100, gold 200, platinum 500) once, at the tier the member ends with (the workload
  makes the birthday known only after the member's last tier gate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

TIERS: tuple[tuple[str, Decimal, Decimal], ...] = (
    ("bronze", Decimal(0), Decimal("1.0")),
    ("silver", Decimal(5000), Decimal("1.25")),
    ("gold", Decimal(20000), Decimal("1.5")),
    ("platinum", Decimal(50000), Decimal("2.0")),
)
RANK = {name: n for n, (name, _, _) in enumerate(TIERS)}
MULTIPLIER = {name: multiplier for name, _, multiplier in TIERS}
RETURN_WINDOW = timedelta(days=14)
EXPIRY = timedelta(days=365)
QUALIFYING_DAYS = 365
CURRENCY = "CNY"
GOODWILL_POINTS = 100
PROGRAM_ZONE = ZoneInfo("Asia/Shanghai")
#: action: (points, at most this many a local day or None, once per member)
ACTIONS: dict[str, tuple[int, int | None, bool]] = {
    "review.written": (20, 5, False),
    "profile.completed": (50, None, True),
    "store.checkin": (5, 1, False),
}
REFERRER_POINTS = 500
REFEREE_POINTS = 200
BIRTHDAY_POINTS = {"bronze": 0, "silver": 100, "gold": 200, "platinum": 500}


def floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def earn(total: Decimal, currency: str, tier: str) -> int:
    if currency != CURRENCY:
        return 0
    return floor(floor(total) * MULTIPLIER[tier])


def supported_tier(spend: Decimal) -> str:
    reached = TIERS[0][0]
    for name, threshold, _ in TIERS:
        if spend >= threshold:
            reached = name
    return reached


@dataclass(frozen=True)
class Purchase:
    event_id: str
    order_id: str
    total: Decimal
    currency: str
    time: datetime


@dataclass(frozen=True)
class Refund:
    event_id: str
    order_id: str
    refund_id: str
    amount: Decimal
    currency: str
    time: datetime


@dataclass(frozen=True)
class Action:
    event_id: str
    action_id: str
    action: str
    time: datetime


@dataclass
class Order:
    purchase: Purchase
    segment: int  # which stretch between tier gates it was published in
    tier_before: str  # the tier points knew for sure when the stretch began
    tier_after: str  # the tier this member had after the stretch (same if no crossing)
    pending: bool
    old: bool  # older than the expiry: all its points expire
    in_window: bool
    refunded: Decimal = Decimal(0)
    refunds: list[Refund] = field(default_factory=list)
    applied_refunds: list[Refund] = field(default_factory=list)


@dataclass
class MemberModel:
    """One member's state as the contract says it must end up."""

    member_id: str
    now: datetime
    #: when the figures are compared, at the earliest: a purchase's window that ends before
    #: it has matured by then, a lot whose expiry comes before it has expired
    horizon: datetime | None = None
    tier: str = "bronze"
    spend: Decimal = Decimal(0)
    upgrades: int = 0
    segment: int = 0
    orders: dict[str, Order] = field(default_factory=dict)
    parked: dict[str, list[Refund]] = field(default_factory=dict)
    feedback_refunds: dict[str, Refund] = field(default_factory=dict)
    seen_events: set[str] = field(default_factory=set)
    segment_start_tier: list[str] = field(default_factory=lambda: ["bronze"])
    action_points: int = 0
    actions_taken: set[str] = field(default_factory=set)
    actions_rewarded: dict[tuple[str, date | None], int] = field(default_factory=dict)
    #: referral bonuses this member earns: (referee, referrer) -> points
    referrals: dict[tuple[str, str], int] = field(default_factory=dict)
    #: the program's year of a birthday that is today in its time zone (None: no bonus due)
    birthday_year: int | None = None

    def _in_window(self, time: datetime) -> bool:
        start = self.now.date() - timedelta(days=QUALIFYING_DAYS)
        return time.date() > start

    def purchase(self, p: Purchase) -> bool:
        """Apply a valid purchase; True when it raised the tier (a gate must follow)."""
        if p.event_id in self.seen_events or p.order_id in self.orders:
            return False  # an exact duplicate, or the same order under another id
        self.seen_events.add(p.event_id)
        in_window = p.currency == CURRENCY and self._in_window(p.time)
        order = Order(
            purchase=p,
            segment=self.segment,
            tier_before=self.segment_start_tier[self.segment],
            tier_after=self.segment_start_tier[self.segment],
            pending=p.time + RETURN_WINDOW > (self.horizon or self.now),
            old=p.time + EXPIRY < (self.horizon or self.now),
            in_window=in_window,
        )
        self.orders[p.order_id] = order
        if in_window:
            self.spend += p.total
        # refunds that waited for this order are judged now, before the upgrade check
        for refund in self.parked.pop(p.order_id, []):
            self._apply_refund(order, refund)
            if in_window:
                self.spend -= refund.amount
        reached = supported_tier(self.spend)
        if RANK[reached] > RANK[self.tier]:
            self.tier = reached
            self.upgrades += 1
            for o in self.orders.values():
                if o.segment == self.segment:
                    o.tier_after = reached
            self.segment += 1
            self.segment_start_tier.append(reached)
            return True
        return False

    def act(self, a: Action) -> None:
        if a.event_id in self.seen_events:
            return
        self.seen_events.add(a.event_id)
        rule = ACTIONS.get(a.action)
        if rule is None or a.action_id in self.actions_taken:
            return
        self.actions_taken.add(a.action_id)
        points, per_day, once = rule
        key = (a.action, None if once else a.time.astimezone(PROGRAM_ZONE).date())
        limit = 1 if once else per_day
        if limit is None or self.actions_rewarded.get(key, 0) < limit:
            self.actions_rewarded[key] = self.actions_rewarded.get(key, 0) + 1
            self.action_points += points

    def referral(self, referee_id: str, referrer_id: str, points: int) -> None:
        """This member earns `points` for the referral of `referee_id` by `referrer_id`."""
        self.referrals[(referee_id, referrer_id)] = points

    def bonuses(self) -> list[tuple[str, int]]:
        """The earn entries of referrals and the birthday, as (what they name, points), sorted:
        the ledger must hold exactly these."""
        found = [
            (f"referral of {referee} by {referrer}", points)
            for (referee, referrer), points in self.referrals.items()
        ]
        birthday = BIRTHDAY_POINTS[self.tier] if self.birthday_year is not None else 0
        if birthday:
            found.append((f"birthday {self.birthday_year} at {self.tier}", birthday))
        return sorted(found)

    def refund(self, r: Refund) -> None:
        if r.event_id in self.seen_events:
            return
        self.seen_events.add(r.event_id)
        self.feedback_refunds.setdefault(r.refund_id, r)
        order = self.orders.get(r.order_id)
        if order is None:
            # every service keeps it until the purchase comes (points, tiers, feedback)
            self.parked.setdefault(r.order_id, []).append(r)
            return
        self._apply_refund(order, r)
        if order.in_window:  # taken off the order's day, if that day still counts
            self.spend -= r.amount

    def _apply_refund(self, order: Order, r: Refund) -> None:
        order.refunded += r.amount
        order.applied_refunds.append(r)


def reversed_points(points: int, total: Decimal, refunded: Decimal) -> int:
    if refunded >= total:
        return points
    return floor(points * refunded / total)
