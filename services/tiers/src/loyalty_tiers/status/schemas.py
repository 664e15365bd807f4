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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "tier": "silver",
                    "qualifying_spend": "6200.00",
                    "next_tier": "gold",
                    "spend_to_next_tier": "8800.00",
                    "tier_valid_until": "2027-03-14T10:00:00+08:00",
                    "multiplier": "1.25",
                    "benefits": [
                        {
                            "id": "free-shipping",
                            "name": {"zh-CN": "免运费", "en": "Free shipping"},
                        }
                    ],
                    "keep": {"spend_needed": "0.00", "by": "2027-03-14T10:00:00+08:00"},
                    "override_until": None,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "from_tier": "bronze",
                            "to_tier": "silver",
                            "direction": "up",
                            "reason": "spend",
                            "qualifying_spend": "6200.00",
                            "valid_until": "2027-03-14T10:00:00+08:00",
                            "changed_at": "2026-03-14T10:00:00+08:00",
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[TierChange]
    next_cursor: str | None = None


class TierOverride(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tier": "gold",
                    "reason": "Status match from a partner airline",
                    "expires_at": "2027-06-30T23:59:59+08:00",
                }
            ]
        },
    )

    tier: str = Field(description="A tier of the program")
    reason: str = Field(min_length=3, max_length=500, description="Status match, service recovery…")
    expires_at: Rfc3339Time = Field(description="Until then the evaluation leaves the tier alone")
