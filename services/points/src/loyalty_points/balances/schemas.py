"""The points balance as the mobile app reads it (contract section 3)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ExpiringPoints(BaseModel):
    points: int = Field(description="Available points that expire at `expires_at`")
    expires_at: datetime


class PointsBalance(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "available": 1200,
                    "held": 0,
                    "pending": 300,
                    "lifetime_earned": 5400,
                    "expiring": [
                        {"points": 200, "expires_at": "2026-12-31T23:59:59+08:00"},
                        {"points": 1000, "expires_at": "2027-11-30T23:59:59+08:00"},
                    ],
                }
            ]
        }
    )

    member_id: str
    available: int = Field(
        description="Spendable now (points held for a checkout excluded); may be negative after "
        "a refund"
    )
    held: int = Field(0, description="Reserved by checkout holds not yet committed or released")
    pending: int = Field(description="Earned, waiting for the return window to end")
    lifetime_earned: int = Field(
        description="Every point ever earned (pending included) less reversals; "
        "redemptions and expiry do not reduce it"
    )
    expiring: list[ExpiringPoints] = Field(
        description="The available points by expiry time, soonest first: they add up to "
        "`available`, and the list is empty while `available` is zero or below (new points "
        "repay that first); empty for an `as_recorded_at` query"
    )
    as_of: datetime | None = Field(None, description="Set when this is the balance at that time")
    as_recorded_at: datetime | None = Field(
        None, description="Set when the balances are those the ledger had recorded by that time"
    )
