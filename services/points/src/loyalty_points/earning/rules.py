"""How many points a purchase earns: pure arithmetic on the program, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.program.schema import Program


@dataclass(frozen=True, slots=True)
class Earn:
    base_points: int
    points: int
    tier: str
    multiplier: Decimal
    available_at: datetime
    expires_at: datetime


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def earn_for(
    purchase: PurchaseCompletedV1, *, purchased_at: datetime, tier: str, program: Program
) -> Earn:
    """Points per whole unit of `total` at the currency's rate, rounded down, then times the
    tier's multiplier, rounded down again (contract section 2)."""
    tier_rule = program.tier(tier) or program.base_tier
    rate = program.earning.rates.get(purchase.currency, Decimal(0))
    base = _floor(purchase.total * rate)
    return Earn(
        base_points=base,
        points=_floor(base * tier_rule.multiplier),
        tier=tier_rule.name,
        multiplier=tier_rule.multiplier,
        available_at=purchased_at + timedelta(days=program.earning.return_window_days),
        expires_at=purchased_at + timedelta(days=program.earning.expiry_days),
    )
