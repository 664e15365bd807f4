"""Redemptions as the mobile app sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(gt=0, le=100_000_000, description="Points to spend")
    reward: str | None = Field(None, max_length=200, description="What the points buy")


class Redemption(BaseModel):
    id: UUID
    member_id: str
    points: int
    reward: str | None
    status: Literal["completed", "cancelled"]
    created_at: datetime
    cancelled_at: datetime | None = None
