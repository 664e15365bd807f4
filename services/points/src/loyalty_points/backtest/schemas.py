"""What `POST /v1/program/backtest` takes and answers (contract 5.5)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.program.schema import Program


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: Program = Field(
        description="A program as the program file says it, in JSON: what `GET /v1/program` "
        "answers, changed; checked as the file is (a 422 lists every problem)"
    )
    days: int = Field(30, ge=1, le=365, description="Purchases of the last `days` days")


class TierFigures(BaseModel):
    purchases: int
    points_current: int = Field(description="What these purchases were credited")
    points_candidate: int = Field(description="What they would earn under the candidate")


class Backtest(BaseModel):
    since: datetime = Field(description="Purchases whose `time` is at or after this...")
    until: datetime = Field(description="...and before this (the request's instant)")
    purchases: int
    points_current: int = Field(description="What the purchases were credited")
    points_candidate: int = Field(description="What they would earn under the candidate")
    by_tier: dict[str, TierFigures] = Field(
        description="By the tier each purchase earned at when it was credited"
    )
    liability_added: str = Field(
        description="Money: the points the candidate adds (less what the purchases' refunds "
        "would take back) x the candidate's point_value x (1 - the current breakage rate); "
        "negative when it gives less"
    )
    purchases_without_categories: int = Field(
        description="Purchases credited before their items' categories were kept: category "
        "rules of the candidate cannot apply to them"
    )
