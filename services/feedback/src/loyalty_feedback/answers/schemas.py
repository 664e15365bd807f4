"""An answer as the mobile app or a survey page sends it, and as the service returns it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Score = Annotated[StrictInt, Field(ge=0, le=10, description="NPS: 0 (not at all) to 10")]
Csat = Annotated[StrictInt, Field(ge=1, le=5, description="CSAT: 1 (very unhappy) to 5")]
Comment = Annotated[StrictStr, Field(max_length=2000, description="At most 2,000 characters")]


class SurveyAnswer(BaseModel):
    """Through a survey link: the order and the member come from the token."""

    model_config = ConfigDict(extra="forbid")

    score: Score
    csat: Csat | None = None
    comment: Comment | None = None


class FeedbackCreate(SurveyAnswer):
    """Through the app, with the member's JWT (contract: `{"score", "order_id"?, "comment"?}`)."""

    order_id: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = Field(
        None, description="An order of this member that the platform has seen"
    )


class Feedback(BaseModel):
    feedback_id: uuid.UUID
    member_id: str
    score: int
    category: Literal["promoter", "passive", "detractor"]
    csat: int | None
    order_id: str | None
    channel: Literal["online", "store", "app"] | None
    comment: str | None
    answered_at: datetime
    goodwill_points: int = Field(0, description="Service-recovery points granted for this answer")


class AnsweredFeedback(BaseModel):
    feedback_id: uuid.UUID
    score: int
    csat: int | None
    comment: str | None
    order_id: str | None
    channel: str | None
    tier: str = Field(description="The member's tier when they answered")
    source: Literal["app", "survey"]
    answered_at: datetime
    goodwill_points: int = Field(description="Service-recovery points granted for it")


class AnsweredFeedbackList(BaseModel):
    member_id: str
    items: list[AnsweredFeedback] = Field(description="Newest first")
