"""A member's open lots: where their points came from and when each part expires."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
    member_id: str
    items: list[Lot] = Field(description="Lots with points left, soonest expiry first")
