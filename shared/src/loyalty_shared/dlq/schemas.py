"""Dead letters as the API lists and replays them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

Outcome = Literal["applied", "duplicate", "refused", "skipped"]


class DeadLetterCount(BaseModel):
    topic: str
    code: str = Field(description="The reason (`error.code`): `invalid-data`, `unknown-order`...")
    count: int
    waiting: int = Field(description="Not replayed yet")
    latest_at: datetime


class DeadLetterSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hours": 24,
                    "since": "2026-12-04T10:00:00+00:00",
                    "items": [
                        {
                            "topic": "loyalty.orders",
                            "code": "invalid-data",
                            "count": 3,
                            "waiting": 2,
                            "latest_at": "2026-12-05T09:12:30+00:00",
                        }
                    ],
                }
            ]
        }
    )

    hours: int
    since: datetime
    items: list[DeadLetterCount] = Field(description="Most first")


class DeadLetterEntry(BaseModel):
    id: int
    topic: str
    code: str
    detail: str
    event_type: str
    event_id: str | None
    key: str | None = Field(description="The record's key (the member id), as text")
    dead_lettered_at: datetime
    replayed_at: datetime | None
    replayed_by: str | None
    replay_outcome: Outcome | Literal["erased"] | None = Field(
        description="How its replay went; `erased`: the member asked to be erased, so the record "
        "is gone and it waits no more"
    )


_ENTRY_EXAMPLE: JsonDict = {
    "id": 42,
    "topic": "loyalty.orders",
    "code": "invalid-data",
    "detail": "total: not a decimal string",
    "event_type": "order.completed",
    "event_id": "e-7f3a9c",
    "key": "m-1001",
    "dead_lettered_at": "2026-12-05T09:12:30+00:00",
    "replayed_at": None,
    "replayed_by": None,
    "replay_outcome": None,
}


class DeadLetterPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_ENTRY_EXAMPLE],
                    "next_cursor": "41",
                }
            ]
        }
    )

    items: list[DeadLetterEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")


class Header(BaseModel):
    name: str
    value: str = Field(description="As UTF-8 text (bytes that are not are replaced)")


class DeadLetter(DeadLetterEntry):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_ENTRY_EXAMPLE,
                    "position": "loyalty.orders:0:1187",
                    "headers": [{"name": "content-type", "value": "application/json"}],
                    "value": '{"type": "order.completed", "total": "abc"}',
                }
            ]
        }
    )

    position: str = Field(description="Where it was read: `topic:partition:offset`")
    headers: list[Header] = Field(description="The record's own headers, as it came")
    value: str | None = Field(description="The record's value as UTF-8 text, unchanged")


class ReplayResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": 42, "outcome": "applied"}]})

    id: int
    outcome: Outcome = Field(
        description="`applied`; `duplicate` (it had been applied meanwhile); `refused` again "
        "(a new dead letter, `dead_letter_id`, says why); `skipped` (a type no longer handled)"
    )
    dead_letter_id: int | None = Field(None, description="The new dead letter, when refused")
    code: str | None = None
    detail: str | None = None


class ReplayFilter(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"topic": "loyalty.orders", "code": "invalid-data"}]},
    )

    topic: str | None = Field(None, max_length=249)
    code: str | None = Field(None, max_length=100)


class ReplayReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"replayed": 3, "outcomes": {"applied": 2, "duplicate": 1}, "remaining": 0}
            ]
        }
    )

    replayed: int
    outcomes: dict[str, int] = Field(description="How many of each outcome")
    remaining: int = Field(description="Matching dead letters still waiting (call again)")
