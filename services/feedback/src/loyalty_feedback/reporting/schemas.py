"""NPS reports as ops read them (contract section 3: the summary)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class NpsCounts(BaseModel):
    responses: int
    promoters: int = Field(description="Scores 9-10")
    passives: int = Field(description="Scores 7-8")
    detractors: int = Field(description="Scores 0-6")
    nps: float | None = Field(
        description="% promoters - % detractors, -100..100, one decimal; null without responses"
    )
    csat_average: float | None = Field(None, description="Mean CSAT (1-5) of those who gave one")


class FeedbackSummary(NpsCounts):
    days: int
    since: datetime


class NpsGroup(NpsCounts):
    key: str = Field(description="The tier, the channel (`unknown` without an order) or ISO week")


class NpsBreakdown(BaseModel):
    by: str
    days: int
    since: datetime
    items: list[NpsGroup]


class NpsWeekGroup(NpsCounts):
    week: str = Field(description="ISO week (UTC) such as `2026-W48`")
    key: str = Field(description="The tier, or the channel (`unknown` without an order)")


class NpsTrend(BaseModel):
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
    items: list[CommentHit]
    next_cursor: str | None = None
