"""Detractor answers as cases customer service works through."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

CaseState = Literal["open", "contacted", "resolved"]
OperatorId = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]

#: One case, as the examples of a case and of a page of them show it.
_CASE_EXAMPLE: JsonDict = {
    "feedback_id": "0b9d2f4e-3c1a-4e6b-8f7d-5a2c9e1b3d4f",
    "member_id": "m-1002",
    "score": 3,
    "comment": "The parcel arrived damaged.",
    "order_id": "o-5002",
    "channel": "online",
    "tier": "gold",
    "answered_at": "2026-12-05T10:15:00+08:00",
    "state": "contacted",
    "assignee": "agent-7",
    "updated_at": "2026-12-05T11:00:00+08:00",
    "updated_by": "agent-7",
}


class Case(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CASE_EXAMPLE]})

    feedback_id: uuid.UUID
    member_id: str
    score: int
    comment: str | None
    order_id: str | None
    channel: str | None
    tier: str
    answered_at: datetime
    state: CaseState
    assignee: str | None = Field(description="The operator who has it (their `sub`)")
    updated_at: datetime | None = Field(description="Null while nobody has touched it")
    updated_by: str | None


class CasePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_CASE_EXAMPLE],
                    "counts": {"open": 4, "contacted": 1, "resolved": 12},
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[Case]
    counts: dict[str, int] = Field(description="Cases per state in the period, every state")
    next_cursor: str | None = None


class CaseUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"state": "contacted", "assignee": "agent-7"}]},
    )

    state: CaseState
    assignee: OperatorId | None = Field(None, description="Who has it; null: nobody")
