"""The loyalty program: earning rates, windows and the tier ladder, as the operator writes it.

Strict on purpose: an unknown key is an error (a typo must not silently fall back to a default).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from loyalty_shared.events.fields import CurrencyCode, Money


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Rate = Annotated[Decimal, Field(ge=0, le=1000)]
Multiplier = Annotated[Decimal, Field(gt=0, le=100)]


class Earning(_Strict):
    rates: dict[CurrencyCode, Rate]
    return_window_days: int = Field(ge=0, le=365)
    expiry_days: int = Field(ge=1, le=3650)


class Tier(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    threshold: Annotated[Money, Field(ge=0)]
    multiplier: Multiplier
    benefits: dict[str, str] = Field(default_factory=dict)


class Tiers(_Strict):
    validity_days: int = Field(ge=1, le=3650)
    qualifying_window_days: int = Field(ge=1, le=3650)
    ladder: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _ladder_climbs(self) -> Tiers:
        if self.ladder[0].threshold != 0:
            raise ValueError(f"the first tier ({self.ladder[0].name}) must start at threshold 0")
        for lower, upper in zip(self.ladder, self.ladder[1:], strict=False):
            if upper.threshold <= lower.threshold:
                raise ValueError(
                    f"tier thresholds must rise: {upper.name} ({upper.threshold}) "
                    f"is not above {lower.name} ({lower.threshold})"
                )
        names = [tier.name for tier in self.ladder]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique: {names}")
        return self


class Program(_Strict):
    currency: CurrencyCode
    earning: Earning
    tiers: Tiers

    @property
    def base_tier(self) -> Tier:
        return self.tiers.ladder[0]

    def tier(self, name: str) -> Tier | None:
        return next((tier for tier in self.tiers.ladder if tier.name == name), None)
