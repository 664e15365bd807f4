"""How many points a purchase earns, rule by rule: pure arithmetic on the program, no I/O.

The base is 1 point per whole unit paid at the currency's rate, rounded down; the tier multiplies
it (contract section 2). Bonus rules add to it, each computed from the base so they never
compound: a category multiplier on the category's share of the order, a channel bonus, and each
campaign running at the purchase's local time. The per-order cap, if any, comes last. Every rule
that applied is a line of the breakdown, which the ledger keeps with the earn entry and
`POST /v1/program/simulate` returns, so a member's question "why this many?" has an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from loyalty_shared.events.commerce import LineItem, PurchaseCompletedV1
from loyalty_shared.program.schema import Campaign, Program


@dataclass(frozen=True, slots=True)
class RuleLine:
    rule: str  # base, tier, category:<name>, channel:<name>, campaign:<name>, cap
    points: int
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": self.points, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Earn:
    base_points: int
    points: int
    tier: str
    multiplier: Decimal
    available_at: datetime
    expires_at: datetime
    lines: tuple[RuleLine, ...]


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _category_shares(items: Sequence[LineItem]) -> dict[str, Decimal]:
    """Each category's share of the order by list value: the total paid may differ from the sum
    of the items (discounts, shipping), so bonuses follow the share, not the item prices."""
    values: dict[str, Decimal] = {}
    for item in items:
        values[item.category] = values.get(item.category, Decimal(0)) + (
            item.unit_price * item.quantity
        )
    whole = sum(values.values(), Decimal(0))
    if whole == 0:
        return {}
    return {category: value / whole for category, value in values.items()}


def _campaign_runs(campaign: Campaign, purchased_at: datetime) -> bool:
    local = purchased_at.astimezone(ZoneInfo(campaign.time_zone)).replace(tzinfo=None)
    return campaign.starts <= local < campaign.ends


def _bonus(base: int, multiplier: Decimal, share: Decimal = Decimal(1)) -> int:
    return _floor(base * share * (multiplier - 1))


def _campaign_line(
    campaign: Campaign,
    purchase: PurchaseCompletedV1,
    base: int,
    shares: dict[str, Decimal],
) -> RuleLine | None:
    if campaign.channels and purchase.channel not in campaign.channels:
        return None
    share = (
        sum((shares.get(c, Decimal(0)) for c in campaign.categories), Decimal(0))
        if campaign.categories
        else Decimal(1)
    )
    if share == 0:
        return None
    scope = f" on {', '.join(campaign.categories)}" if campaign.categories else ""
    return RuleLine(
        f"campaign:{campaign.name}",
        _bonus(base, campaign.multiplier, share),
        f"x{campaign.multiplier}{scope} from {campaign.starts:%Y-%m-%d %H:%M} to "
        f"{campaign.ends:%Y-%m-%d %H:%M} {campaign.time_zone}",
    )


def earn_for(
    purchase: PurchaseCompletedV1, *, purchased_at: datetime, tier: str, program: Program
) -> Earn:
    earning = program.earning
    tier_rule = program.tier(tier) or program.base_tier
    rate = earning.rates.get(purchase.currency)
    base = _floor(purchase.total * rate) if rate is not None else 0
    lines = [
        RuleLine(
            "base",
            base,
            f"{purchase.total} {purchase.currency} at {rate} point(s) per unit, rounded down"
            if rate is not None
            else f"{purchase.currency} earns no points in this program",
        ),
        RuleLine(
            "tier",
            _floor(base * tier_rule.multiplier) - base,
            f"{tier_rule.name} earns x{tier_rule.multiplier}",
        ),
    ]
    shares = _category_shares(purchase.items)
    for category, multiplier in earning.categories.items():
        if (share := shares.get(category)) is not None:
            lines.append(
                RuleLine(
                    f"category:{category}",
                    _bonus(base, multiplier, share),
                    f"x{multiplier} on {category} ({share:.0%} of the order)",
                )
            )
    if (channel_multiplier := earning.channels.get(purchase.channel)) is not None:
        lines.append(
            RuleLine(
                f"channel:{purchase.channel}",
                _bonus(base, channel_multiplier),
                f"x{channel_multiplier} for buying {purchase.channel}",
            )
        )
    for campaign in earning.campaigns:
        if _campaign_runs(campaign, purchased_at) and (
            line := _campaign_line(campaign, purchase, base, shares)
        ):
            lines.append(line)
    points = sum(line.points for line in lines)
    cap = earning.max_points_per_order
    if cap is not None and points > cap:
        lines.append(RuleLine("cap", cap - points, f"at most {cap} points per order"))
        points = cap
    return Earn(
        base_points=base,
        points=points,
        tier=tier_rule.name,
        multiplier=tier_rule.multiplier,
        available_at=purchased_at + timedelta(days=earning.return_window_days),
        expires_at=purchased_at + timedelta(days=earning.expiry_days),
        lines=tuple(line for line in lines if line.points != 0 or line.rule == "base"),
    )
