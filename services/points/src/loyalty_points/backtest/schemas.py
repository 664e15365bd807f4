"""What `POST /v1/program/backtest` takes and answers (contract 5.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.program.loader import load_program
from loyalty_shared.program.schema import Program


def _example(schema: dict[str, Any]) -> None:
    """The default program, as `GET /v1/program` answers it, tried on the last 30 days."""
    schema["examples"] = [{"program": load_program().model_dump(mode="json"), "days": 30}]


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "since": "2026-11-05T10:00:00+08:00",
                    "until": "2026-12-05T10:00:00+08:00",
                    "purchases": 1840,
                    "points_current": 412000,
                    "points_candidate": 455500,
                    "by_tier": {
                        "bronze": {
                            "purchases": 1200,
                            "points_current": 210000,
                            "points_candidate": 231000,
                        },
                        "silver": {
                            "purchases": 640,
                            "points_current": 202000,
                            "points_candidate": 224500,
                        },
                    },
                    "liability_added": "348.00",
                    "purchases_without_categories": 0,
                }
            ]
        }
    )

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
