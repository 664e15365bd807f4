"""Points earned, spent and lost per week, for the program's overview."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class WeekOfPoints(BaseModel):
    week: str = Field(description="ISO week (UTC), e.g. `2026-W48`")
    starts_on: date
    earned: int = Field(description="Credited by purchases (pending included)")
    redeemed: int = Field(description="Spent, less what cancelled redemptions gave back")
    expired: int
    reversed: int = Field(description="Taken back by refunds")
    adjusted: int = Field(description="Granted (+) or taken (-) by hand and goodwill, net")


class PointsFlow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "weeks": 2,
                    "items": [
                        {
                            "week": "2026-W48",
                            "starts_on": "2026-11-23",
                            "earned": 1520,
                            "redeemed": 500,
                            "expired": 0,
                            "reversed": 120,
                            "adjusted": 200,
                        },
                        {
                            "week": "2026-W49",
                            "starts_on": "2026-11-30",
                            "earned": 980,
                            "redeemed": 0,
                            "expired": 45,
                            "reversed": 0,
                            "adjusted": -50,
                        },
                    ],
                }
            ]
        }
    )

    weeks: int
    items: list[WeekOfPoints] = Field(description="Every week of the period, oldest first")
