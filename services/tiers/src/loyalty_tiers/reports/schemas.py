"""The members report as marketing reads it: how many, how active, in which tier."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TierShare(BaseModel):
    tier: str
    members: int
    share: float = Field(description="% of all members, one decimal")


class MembersReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-12-05T10:00:00+08:00",
                    "members": 2000,
                    "active_30_days": 640,
                    "active_90_days": 1210,
                    "tiers": [
                        {"tier": "bronze", "members": 1500, "share": 75.0},
                        {"tier": "silver", "members": 350, "share": 17.5},
                        {"tier": "gold", "members": 120, "share": 6.0},
                        {"tier": "platinum", "members": 30, "share": 1.5},
                    ],
                }
            ]
        }
    )

    as_of: datetime
    members: int = Field(
        description="Every member the tiers service knows: bought, or given a tier"
    )
    active_30_days: int = Field(description="Members with a purchase in the last 30 days")
    active_90_days: int = Field(description="Members with a purchase in the last 90 days")
    tiers: list[TierShare] = Field(description="Every tier of the program, lowest first")
