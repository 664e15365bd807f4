"""Points earned, spent and lost per week, for the program's overview."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class WeekOfPoints(BaseModel):
    week: str = Field(description="ISO week (UTC), e.g. `2026-W48`")
    starts_on: date
    earned: int = Field(description="Credited by purchases (pending included)")
    redeemed: int = Field(description="Spent, less what cancelled redemptions gave back")
    expired: int
    reversed: int = Field(description="Taken back by refunds")
    adjusted: int = Field(description="Granted (+) or taken (-) by hand and goodwill, net")


class PointsFlow(BaseModel):
    weeks: int
    items: list[WeekOfPoints] = Field(description="Every week of the period, oldest first")
