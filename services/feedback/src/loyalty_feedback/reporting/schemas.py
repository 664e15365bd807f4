"""NPS reports as ops read them (contract section 3: the summary)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class NpsCounts(BaseModel):
    responses: int
    promoters: int = Field(description="Scores 9-10")
    passives: int = Field(description="Scores 7-8")
    detractors: int = Field(description="Scores 0-6")
    nps: float | None = Field(
        description="% promoters - % detractors, -100..100, one decimal; null without responses"
    )
    csat_average: float | None = Field(None, description="Mean CSAT (1-5) of those who gave one")


#: The counts of every report's example (the summary's, and each group's).
_COUNTS_EXAMPLE: JsonDict = {
    "responses": 120,
    "promoters": 60,
    "passives": 36,
    "detractors": 24,
    "nps": 30.0,
    "csat_average": 4.2,
}


class FeedbackSummary(NpsCounts):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_COUNTS_EXAMPLE, "days": 30, "since": "2026-11-05T10:00:00+00:00"}]
        }
    )

    days: int
    since: datetime


class NpsGroup(NpsCounts):
    key: str = Field(description="The tier, the channel (`unknown` without an order) or ISO week")


class NpsBreakdown(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by": "tier",
                    "days": 30,
                    "since": "2026-11-05T10:00:00+00:00",
                    "items": [{**_COUNTS_EXAMPLE, "key": "silver"}],
                }
            ]
        }
    )

    by: str
    days: int
    since: datetime
    items: list[NpsGroup]


class NpsWeekGroup(NpsCounts):
    week: str = Field(description="ISO week (UTC) such as `2026-W48`")
    key: str = Field(description="The tier, or the channel (`unknown` without an order)")


class NpsTrend(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by": "channel",
                    "weeks": 4,
                    "since": "2026-11-09T00:00:00+00:00",
                    "items": [{**_COUNTS_EXAMPLE, "week": "2026-W48", "key": "online"}],
                }
            ]
        }
    )

    by: str
    weeks: int
    since: datetime = Field(description="Monday 00:00 UTC of the first week")
    items: list[NpsWeekGroup] = Field(description="By week, then key; empty groups left out")


class CommentHit(BaseModel):
    feedback_id: uuid.UUID
    member_id: str
    score: int
    comment: str
    order_id: str | None
    channel: str | None
    answered_at: datetime


class CommentPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "feedback_id": "0b9d2f4e-3c1a-4e6b-8f7d-5a2c9e1b3d4f",
                            "member_id": "m-1002",
                            "score": 3,
                            "comment": "The parcel arrived damaged.",
                            "order_id": "o-5002",
                            "channel": "online",
                            "answered_at": "2026-12-05T10:15:00+08:00",
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[CommentHit]
    next_cursor: str | None = None
