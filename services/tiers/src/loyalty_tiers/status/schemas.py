"""A member's tier as the mobile app reads it (contract section 3)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.events.fields import LocalizedText, Rfc3339Time


class Benefit(BaseModel):
    id: str = Field(description="Stable across tiers: the same id on two tiers is one benefit")
    name: LocalizedText


class KeepTier(BaseModel):
    spend_needed: Decimal = Field(
        description="More qualifying spend needed, by `by`, to keep the tier at the evaluation"
    )
    by: datetime


class TierStatus(BaseModel):
    member_id: str
    tier: str
    qualifying_spend: Decimal = Field(description="Purchases minus refunds, last 365 days")
    next_tier: str | None
    spend_to_next_tier: Decimal | None
    tier_valid_until: datetime | None = Field(description="None on the base tier")
    multiplier: Decimal
    benefits: list[Benefit] = Field(description="What the tier brings, in both languages")
    keep: KeepTier | None = Field(
        None, description="What keeps the current tier at its next evaluation; None on the base"
    )
    override_until: datetime | None = None


class TierChange(BaseModel):
    from_tier: str
    to_tier: str
    direction: Literal["up", "down", "same"]
    reason: Literal["spend", "evaluation", "admin", "import"]
    qualifying_spend: Decimal
    valid_until: datetime
    changed_at: datetime


class TierHistory(BaseModel):
    items: list[TierChange]
    next_cursor: str | None = None


class TierOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str = Field(description="A tier of the program")
    reason: str = Field(min_length=3, max_length=500, description="Status match, service recovery…")
    expires_at: Rfc3339Time = Field(description="Until then the evaluation leaves the tier alone")
