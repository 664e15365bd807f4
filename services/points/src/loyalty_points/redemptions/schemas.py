"""Redemptions as the mobile app sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"points": 500, "reward": "Coffee voucher"}]},
    )

    points: int = Field(gt=0, le=100_000_000, description="Points to spend")
    reward: str | None = Field(None, max_length=200, description="What the points buy")


class Redemption(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
                    "member_id": "m-1001",
                    "points": 500,
                    "reward": "Coffee voucher",
                    "status": "completed",
                    "created_at": "2026-12-05T10:15:00+08:00",
                    "cancelled_at": None,
                }
            ]
        }
    )

    id: UUID
    member_id: str
    points: int
    reward: str | None
    status: Literal["completed", "cancelled"]
    created_at: datetime
    cancelled_at: datetime | None = None
