"""Detractor answers as cases customer service works through."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CaseState = Literal["open", "contacted", "resolved"]
OperatorId = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]


class Case(BaseModel):
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
    items: list[Case]
    counts: dict[str, int] = Field(description="Cases per state in the period, every state")
    next_cursor: str | None = None


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: CaseState
    assignee: OperatorId | None = Field(None, description="Who has it; null: nobody")
