"""Checkout holds as the shop sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(gt=0, le=100_000_000, description="Points to reserve")
    ttl_seconds: int = Field(
        900, ge=10, le=86_400, description="Released by itself after this long unless committed"
    )
    reference: str | None = Field(
        None, max_length=200, description="The basket or order the points are for"
    )


class Hold(BaseModel):
    id: UUID
    member_id: str
    points: int
    reference: str | None
    status: Literal["active", "committed", "released", "expired"]
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None = None
    redemption_id: UUID | None = Field(None, description="Set once committed")
