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

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"score": 9, "csat": 5, "comment": "送货很快"}]},
    )

    score: Score
    csat: Csat | None = None
    comment: Comment | None = None


class FeedbackCreate(SurveyAnswer):
    """Through the app, with the member's JWT (contract: `{"score", "order_id"?, "comment"?}`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"score": 9, "comment": "Fast delivery, well packed."}]}
    )

    order_id: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = Field(
        None, description="An order of this member that the platform has seen"
    )


class Feedback(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "feedback_id": "0b9d2f4e-3c1a-4e6b-8f7d-5a2c9e1b3d4f",
                    "member_id": "m-1001",
                    "score": 9,
                    "category": "promoter",
                    "csat": None,
                    "order_id": None,
                    "channel": None,
                    "comment": "Fast delivery, well packed.",
                    "answered_at": "2026-12-05T10:15:00+08:00",
                    "goodwill_points": 0,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "items": [
                        {
                            "feedback_id": "0b9d2f4e-3c1a-4e6b-8f7d-5a2c9e1b3d4f",
                            "score": 9,
                            "csat": 5,
                            "comment": "送货很快",
                            "order_id": "o-5001",
                            "channel": "online",
                            "tier": "silver",
                            "source": "survey",
                            "answered_at": "2026-12-05T10:15:00+08:00",
                            "goodwill_points": 0,
                        }
                    ],
                }
            ]
        }
    )

    member_id: str
    items: list[AnsweredFeedback] = Field(description="Newest first")
