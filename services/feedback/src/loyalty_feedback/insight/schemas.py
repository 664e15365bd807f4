"""A member's loyalty, behaviour and attitude, and the segments overview."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class MemberInsight(BaseModel):
    member_id: str
    segment: str | None = Field(
        description="champions, loyal, new, potential, at_risk, hibernating, needs_attention; "
        "null for a member without purchases"
    )
    recency_days: int | None = Field(description="Days since the last purchase")
    frequency: int = Field(description="Purchases not refunded in full, last 365 days")
    monetary: Decimal = Field(description="Net spend in the program currency, last 365 days")
    r_score: int
    f_score: int
    m_score: int
    orders: int = Field(description="Purchases not refunded in full, ever")
    repeat_customer: bool = Field(description="Two purchases or more, ever")
    clv: Decimal = Field(description="Historic customer lifetime value: net spend, ever")
    average_order_value: Decimal | None
    latest_nps_score: int | None = Field(description="The latest answer of the last 365 days")
    loyalty_index: int = Field(description="0-100, see docs/loyalty-index.md")
    as_of: datetime


class SegmentStats(BaseModel):
    segment: str
    members: int
    share: float = Field(description="% of the members with a segment")
    average_recency_days: float | None
    average_frequency: float | None
    average_monetary: Decimal | None
    average_clv: Decimal | None
    repeat_purchase_rate: float = Field(description="% of members with two purchases or more")
    nps_responses: int
    nps: float | None = Field(description="NPS of the segment's answers, last 365 days")
    computed_at: datetime


class Segments(BaseModel):
    items: list[SegmentStats]
    members: int
    repeat_purchase_rate: float | None = Field(description="% of all members, as of the recompute")
    next_cursor: str | None = None


class Cohort(BaseModel):
    cohort: str = Field(description="The month (UTC) of its members' first purchase, `YYYY-MM`")
    members: int
    retention: list[float] = Field(
        description="% of the cohort that bought in its first month (100), the next, and so on "
        "up to this month"
    )


class Retention(BaseModel):
    months: int
    cohorts: list[Cohort] = Field(
        description="Oldest first; a month without new members is left out"
    )


class ClvBucket(BaseModel):
    low: Decimal = Field(description="Included")
    high: Decimal | None = Field(description="Excluded; null for the last, open bucket")
    members: int


class ClvDistribution(BaseModel):
    currency: str
    members: int
    average: Decimal | None
    percentiles: dict[str, Decimal | None] = Field(description="`p25`, `p50`, `p75`, `p90`")
    buckets: list[ClvBucket]
    computed_at: datetime | None = Field(description="The recompute it is as of")


class TierIndex(BaseModel):
    tier: str
    members: int
    average: float | None = Field(description="The tier's average loyalty index, 0-100")


class IndexDay(BaseModel):
    day: date
    tier: str
    members: int
    average: float


class LoyaltyIndexReport(BaseModel):
    by_tier: list[TierIndex] = Field(
        description="As of the last recompute, every tier, lowest first"
    )
    trend: list[IndexDay] = Field(description="Per day and tier, oldest first")
