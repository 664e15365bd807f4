"""Manual adjustments by an admin."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"points": 200, "reason": "Goodwill for a late delivery"}]},
    )

    points: int = Field(
        ge=-100_000_000, le=100_000_000, description="Positive grants, negative takes"
    )
    reason: str = Field(min_length=3, max_length=500, description="Why, for the audit trail")

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment of 0 points changes nothing")
        return value


class Adjustment(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 9002,
                    "member_id": "m-1001",
                    "points": 200,
                    "reason": "Goodwill for a late delivery",
                    "actor": "support:agent-7",
                    "created_at": "2026-12-05T10:15:00+08:00",
                }
            ]
        }
    )

    id: int = Field(description="The ledger entry")
    member_id: str
    points: int
    reason: str
    actor: str
    created_at: datetime
