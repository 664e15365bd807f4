"""What `GET /v1/reports/liability` answers (contract 5.5, plus what a controller asks next)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class MonthExpiry(BaseModel):
    month: str = Field(description="YYYY-MM, in the program's `time_zone`")
    points: int = Field(
        description="Points the members hold that expire that month, if unspent (under a "
        "`rolling` expiry policy, if the members are not active again before)"
    )


class BreakageForecast(BaseModel):
    points: int = Field(
        description="Points expected to expire unredeemed in the months `expiring_by_month` "
        "lists: their points times `breakage_rate`, rounded"
    )
    value: str = Field(description="`points` x `point_value`, money")
    full_history: bool = Field(
        description="Whether the ledger goes back 365 days plus the longest the program's "
        "expiry policy lets points wait for their expiry: until it does, few points have had "
        "the time to expire and the rate reads low"
    )


class LiabilityReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-12-05T10:00:00+08:00",
                    "currency": "CNY",
                    "point_value": "0.01",
                    "available_points": 1250000,
                    "pending_points": 180000,
                    "held_points": 5000,
                    "negative_points": -1200,
                    "negative_members": 3,
                    "liability": "11440.00",
                    "breakage_rate": "0.2000",
                    "expired_points": 90000,
                    "redeemed_points": 360000,
                    "expiring_by_month": [
                        {"month": "2026-12", "points": 42000},
                        {"month": "2027-01", "points": 38000},
                    ],
                    "expiring_later": 1350000,
                    "breakage_forecast": {"points": 16000, "value": "160.00", "full_history": True},
                    "time_zone": "Asia/Shanghai",
                }
            ]
        }
    )

    as_of: datetime = Field(description="The instant every figure is taken at")
    currency: str = Field(description="The program's currency, of every money figure")
    point_value: str = Field(description="Money per point (the program's `point_value`)")
    available_points: int = Field(
        description="Points members can spend or have held for a checkout: each member's "
        "available points above zero, plus held ones"
    )
    pending_points: int = Field(description="Points still in their return window")
    held_points: int = Field(description="Of `available_points`, held for checkouts")
    negative_points: int = Field(
        description="The sum of the balances below zero (<= 0; a refund after the points were "
        "spent): reported apart, never netted against other members' points"
    )
    negative_members: int = Field(description="Members whose balance is below zero")
    liability: str = Field(
        description="(available_points + pending_points) x point_value x (1 - breakage_rate), "
        "money rounded half up to the cent"
    )
    breakage_rate: str = Field(
        description="expired / (expired + redeemed) points over the 365 days to `as_of`, to 4 "
        'places; "0.0000" when nothing expired or was redeemed'
    )
    expired_points: int = Field(description="Points expired in the 365 days to `as_of`")
    redeemed_points: int = Field(
        description="Points redeemed in the 365 days to `as_of`, less redemptions cancelled"
    )
    expiring_by_month: list[MonthExpiry] = Field(
        description="The month of `as_of` and the 11 after it, in `time_zone`"
    )
    expiring_later: int = Field(
        description="Points expiring after the last month listed (under the default program, "
        "those earned this month expire in the same month next year)"
    )
    breakage_forecast: BreakageForecast
    time_zone: str = Field(description="The program's time zone (`time_zone`), of the months")
