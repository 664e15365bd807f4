"""A member's loyalty, behaviour and attitude, and the segments overview."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class MemberInsight(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "segment": "loyal",
                    "recency_days": 12,
                    "frequency": 6,
                    "monetary": "4820.50",
                    "r_score": 4,
                    "f_score": 4,
                    "m_score": 4,
                    "orders": 14,
                    "repeat_customer": True,
                    "clv": "11250.00",
                    "average_order_value": "803.57",
                    "latest_nps_score": 9,
                    "loyalty_index": 78,
                    "as_of": "2026-12-05T03:00:00+00:00",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "segment": "champions",
                            "members": 180,
                            "share": 9.0,
                            "average_recency_days": 8.5,
                            "average_frequency": 11.2,
                            "average_monetary": "9800.00",
                            "average_clv": "24500.00",
                            "repeat_purchase_rate": 100.0,
                            "nps_responses": 95,
                            "nps": 62.1,
                            "computed_at": "2026-12-05T03:00:00+00:00",
                        }
                    ],
                    "members": 2000,
                    "repeat_purchase_rate": 41.5,
                    "next_cursor": None,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "months": 3,
                    "cohorts": [
                        {"cohort": "2026-10", "members": 120, "retention": [100.0, 38.3, 25.0]},
                        {"cohort": "2026-11", "members": 95, "retention": [100.0, 33.7]},
                    ],
                }
            ]
        }
    )

    months: int
    cohorts: list[Cohort] = Field(
        description="Oldest first; a month without new members is left out"
    )


class ClvBucket(BaseModel):
    low: Decimal = Field(description="Included")
    high: Decimal | None = Field(description="Excluded; null for the last, open bucket")
    members: int


class ClvDistribution(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "currency": "CNY",
                    "members": 2000,
                    "average": "3150.00",
                    "percentiles": {
                        "p25": "450.00",
                        "p50": "1500.00",
                        "p75": "3900.00",
                        "p90": "8200.00",
                    },
                    "buckets": [
                        {"low": "0", "high": "1000", "members": 850},
                        {"low": "1000", "high": None, "members": 1150},
                    ],
                    "computed_at": "2026-12-05T03:00:00+00:00",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by_tier": [
                        {"tier": "bronze", "members": 1500, "average": 41.2},
                        {"tier": "silver", "members": 350, "average": 63.8},
                    ],
                    "trend": [
                        {"day": "2026-12-04", "tier": "bronze", "members": 1498, "average": 41.0}
                    ],
                }
            ]
        }
    )

    by_tier: list[TierIndex] = Field(
        description="As of the last recompute, every tier, lowest first"
    )
    trend: list[IndexDay] = Field(description="Per day and tier, oldest first")
