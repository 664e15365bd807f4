"""How many points a purchase earns, rule by rule: pure arithmetic on the program, no I/O.

The base is 1 point per whole unit paid at the currency's rate, rounded down; the tier multiplies
it (contract section 2). Bonus rules add to it, each computed from the base so they never
compound: a category multiplier on the category's share of the order, a channel bonus, and each
campaign running at the purchase's local time. The per-order cap, if any, comes last. Every rule
that applied is a line of the breakdown, which the ledger keeps with the earn entry and
`POST /v1/program/simulate` returns, so a member's question "why this many?" has an answer.

The program is compiled once into `EarningRules` (campaign windows as instants, rule texts):
the consumer runs these rules for every purchase, the backtest on stored purchases (`Order`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from loyalty_points.ledger.expiry import LotExpiry
from loyalty_shared.events.commerce import LineItem, PurchaseCompletedV1
from loyalty_shared.program.schema import Campaign, Program, Tier

_ONE = Decimal(1)
_ZERO = Decimal(0)


class RuleLine(msgspec.Struct, frozen=True):
    rule: str  # base, tier, category:<name>, channel:<name>, campaign:<name>, cap
    points: int
    detail: str
    #: the version of a campaign started at run time (campaigns/), None for the program file's
    version: int | None = None

    def as_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"rule": self.rule, "points": self.points, "detail": self.detail}
        if self.version is not None:
            line["version"] = self.version
        return line


class Earn(msgspec.Struct, frozen=True):
    base_points: int
    points: int
    tier: str
    multiplier: Decimal
    available_at: datetime
    expires_at: datetime
    lines: tuple[RuleLine, ...]


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _bonus(base: int, multiplier: Decimal, part: Decimal = _ONE, whole: Decimal = _ONE) -> int:
    """The bonus on the `part / whole` share of the order, divided last: a share rounded to 28
    digits first (1/3 as 0.333...3) could floor a whole point away (99 instead of 100)."""
    return _floor(base * part * (multiplier - 1) / whole)


def category_values(items: Sequence[LineItem]) -> dict[str, Decimal]:
    """Each category's list value in the order (what the purchase row keeps of its items)."""
    values: dict[str, Decimal] = {}
    for item in items:
        values[item.category] = values.get(item.category, _ZERO) + item.unit_price * item.quantity
    return values


class Order(msgspec.Struct, frozen=True):
    """What the rules read of a purchase: from its event, or from its stored row (backtest)."""

    total: Decimal
    currency: str
    channel: str
    #: each category's list value (`category_values`)
    categories: Mapping[str, Decimal]

    @classmethod
    def of(cls, purchase: PurchaseCompletedV1) -> Order:
        return cls(
            purchase.total, purchase.currency, purchase.channel, category_values(purchase.items)
        )


class _Categories(msgspec.Struct, frozen=True):
    """Each category's list value in the order, and the whole: the total paid may differ from the
    sum of the items (discounts, shipping), so bonuses follow the share, not the item prices."""

    values: Mapping[str, Decimal]
    whole: Decimal

    @classmethod
    def of(cls, values: Mapping[str, Decimal]) -> _Categories:
        return cls(values, sum(values.values(), _ZERO))


class _CampaignRule(msgspec.Struct, frozen=True):
    name: str
    multiplier: Decimal
    # The local start and end in the campaign's time zone, as POSIX instants: comparing aware
    # datetimes asks both time zones for their offsets, for every purchase and campaign.
    starts: float
    ends: float
    channels: frozenset[str]
    categories: tuple[str, ...]
    detail: str
    version: int | None

    @classmethod
    def of(cls, campaign: Campaign, version: int | None) -> _CampaignRule:
        zone = ZoneInfo(campaign.time_zone)
        scope = f" on {', '.join(campaign.categories)}" if campaign.categories else ""
        return cls(
            name=f"campaign:{campaign.name}",
            multiplier=campaign.multiplier,
            starts=campaign.starts.replace(tzinfo=zone).timestamp(),
            ends=campaign.ends.replace(tzinfo=zone).timestamp(),
            channels=frozenset(campaign.channels),
            categories=tuple(campaign.categories),
            detail=f"x{campaign.multiplier}{scope} from {campaign.starts:%Y-%m-%d %H:%M} to "
            f"{campaign.ends:%Y-%m-%d %H:%M} {campaign.time_zone}",
            version=version,
        )

    def line(
        self, order: Order, instant: float, base: int, categories: _Categories
    ) -> RuleLine | None:
        if not self.starts <= instant < self.ends:
            return None
        if self.channels and order.channel not in self.channels:
            return None
        if not self.categories:
            return RuleLine(self.name, _bonus(base, self.multiplier), self.detail, self.version)
        part = sum((categories.values.get(c, _ZERO) for c in self.categories), _ZERO)
        if part == 0:
            return None
        return RuleLine(
            self.name,
            _bonus(base, self.multiplier, part, categories.whole),
            self.detail,
            self.version,
        )


class EarningRules:
    """A program's earning rules, ready to run on purchases. `versions`: the version of each of
    its campaigns that was started at run time (by name), named in the rule lines."""

    def __init__(self, program: Program, versions: Mapping[str, int] | None = None) -> None:
        earning = program.earning
        versions = versions or {}
        self._program = program
        self._rates = dict(earning.rates)
        self._base_tier = program.base_tier
        self._tiers = {tier.name: tier for tier in program.tiers.ladder}
        self._tier_texts = {t.name: f"{t.name} earns x{t.multiplier}" for t in program.tiers.ladder}
        self._categories = {
            category: (multiplier, f"category:{category}", f"x{multiplier} on {category}")
            for category, multiplier in earning.categories.items()
        }
        self._channels: dict[str, tuple[Decimal, str, str]] = {
            channel: (multiplier, f"channel:{channel}", f"x{multiplier} for buying {channel}")
            for channel, multiplier in earning.channels.items()
        }
        self._campaigns = tuple(
            _CampaignRule.of(c, versions.get(c.name)) for c in earning.campaigns
        )
        self._cap = earning.max_points_per_order
        self._window = timedelta(days=earning.return_window_days)
        self._expiry = LotExpiry.of(program)

    @classmethod
    def of(cls, program: Program) -> EarningRules:
        """The compiled rules of a program, compiled once per program object."""
        cached = _COMPILED.get(id(program))
        if cached is None or cached._program is not program:
            cached = _COMPILED[id(program)] = cls(program)
        return cached

    def tier(self, name: str) -> Tier:
        return self._tiers.get(name, self._base_tier)

    @property
    def program(self) -> Program:
        return self._program

    @property
    def expiry(self) -> LotExpiry:
        return self._expiry

    @property
    def uses_categories(self) -> bool:
        """Whether any rule reads the order's categories."""
        return bool(self._categories) or any(c.categories for c in self._campaigns)

    def earn(self, purchase: PurchaseCompletedV1, *, purchased_at: datetime, tier: str) -> Earn:
        return self.earn_order(Order.of(purchase), purchased_at=purchased_at, tier=tier)

    def earn_order(self, order: Order, *, purchased_at: datetime, tier: str) -> Earn:
        tier_rule = self.tier(tier)
        rate = self._rates.get(order.currency)
        if rate is None:
            base = 0
            base_text = f"{order.currency} earns no points in this program"
        else:
            base = _floor(order.total * rate)
            base_text = f"{order.total} {order.currency} at {rate} point(s) per unit, rounded down"
        lines = [RuleLine("base", base, base_text)]
        if (tier_bonus := _floor(base * tier_rule.multiplier) - base) != 0:
            lines.append(RuleLine("tier", tier_bonus, self._tier_texts[tier_rule.name]))
        if base and (self._categories or self._campaigns or self._channels):
            lines.extend(self._bonuses(order, purchased_at, base))
        points = sum(line.points for line in lines)
        if self._cap is not None and points > self._cap:
            lines.append(
                RuleLine("cap", self._cap - points, f"at most {self._cap} points per order")
            )
            points = self._cap
        return Earn(
            base_points=base,
            points=points,
            tier=tier_rule.name,
            multiplier=tier_rule.multiplier,
            available_at=purchased_at + self._window,
            expires_at=self._expiry.expires_at(purchased_at),
            lines=tuple(lines),
        )

    def _bonuses(self, order: Order, purchased_at: datetime, base: int) -> list[RuleLine]:
        lines = []
        categories = _Categories.of(order.categories)
        if categories.whole == 0:  # nothing has a share of a free order
            categories = _Categories({}, _ONE)
        for category, (multiplier, rule, text) in self._categories.items():
            if (part := categories.values.get(category)) is not None:
                lines.append(RuleLine(rule, _bonus(base, multiplier, part, categories.whole), text))
        if (channel := self._channels.get(order.channel)) is not None:
            multiplier, rule, text = channel
            lines.append(RuleLine(rule, _bonus(base, multiplier), text))
        instant = purchased_at.timestamp()
        for campaign in self._campaigns:
            if line := campaign.line(order, instant, base, categories):
                lines.append(line)
        return [line for line in lines if line.points != 0]


_COMPILED: dict[int, EarningRules] = {}


def earn_for(
    purchase: PurchaseCompletedV1, *, purchased_at: datetime, tier: str, program: Program
) -> Earn:
    return EarningRules.of(program).earn(purchase, purchased_at=purchased_at, tier=tier)
