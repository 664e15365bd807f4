"""The members report as marketing reads it: how many, how active, in which tier."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TierShare(BaseModel):
    tier: str
    members: int
    share: float = Field(description="% of all members, one decimal")


class MembersReport(BaseModel):
    as_of: datetime
    members: int = Field(
        description="Every member the tiers service knows: bought, or given a tier"
    )
    active_30_days: int = Field(description="Members with a purchase in the last 30 days")
    active_90_days: int = Field(description="Members with a purchase in the last 90 days")
    tiers: list[TierShare] = Field(description="Every tier of the program, lowest first")
