"""Checkout holds as the shop sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class HoldCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"points": 500, "ttl_seconds": 900, "reference": "basket-88231"}]
        },
    )

    points: int = Field(gt=0, le=100_000_000, description="Points to reserve")
    ttl_seconds: int = Field(
        900, ge=10, le=86_400, description="Released by itself after this long unless committed"
    )
    reference: str | None = Field(
        None, max_length=200, description="The basket or order the points are for"
    )


class Hold(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f6c1d2a-9b8e-4f7a-a1c2-5d4e3f2a1b0c",
                    "member_id": "m-1001",
                    "points": 500,
                    "reference": "basket-88231",
                    "status": "active",
                    "expires_at": "2026-12-05T10:30:00+08:00",
                    "created_at": "2026-12-05T10:15:00+08:00",
                    "settled_at": None,
                    "redemption_id": None,
                }
            ]
        }
    )

    id: UUID
    member_id: str
    points: int
    reference: str | None
    status: Literal["active", "committed", "released", "expired"]
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None = None
    redemption_id: UUID | None = Field(None, description="Set once committed")
