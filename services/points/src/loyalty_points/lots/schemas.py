"""A member's open lots: where their points came from and when each part expires."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Lot(BaseModel):
    id: int
    order_id: str | None = Field(description="The purchase that earned it; null for a grant")
    points: int = Field(description="What the lot was credited with")
    remaining: int = Field(description="What is left to spend, expire or reverse")
    status: str = Field(description="`pending` (in the return window) or `available`")
    earned_at: datetime
    available_at: datetime
    expires_at: datetime


class LotList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "items": [
                        {
                            "id": 310,
                            "order_id": "o-5001",
                            "points": 300,
                            "remaining": 180,
                            "status": "available",
                            "earned_at": "2026-11-01T10:15:00+08:00",
                            "available_at": "2026-11-15T10:15:00+08:00",
                            "expires_at": "2027-11-30T23:59:59+08:00",
                        }
                    ],
                }
            ]
        }
    )

    member_id: str
    items: list[Lot] = Field(description="Lots with points left, soonest expiry first")
