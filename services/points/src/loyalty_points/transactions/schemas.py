"""A member's ledger as the app lists it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from loyalty_points.ledger.repository import EntryKind


class Cause(BaseModel):
    event_id: str | None = Field(None, description="The event that caused the entry")
    order_id: str | None = None
    redemption_id: UUID | None = None
    hold_id: UUID | None = None
    actor: str = Field(
        description="system:purchase, system:refund, member:<id>, support:<id>, admin:<id>"
    )


class Transaction(BaseModel):
    id: int
    type: EntryKind
    points: int = Field(
        description="Change to the member's points (available + pending + held): a hold moves "
        "points from available to held (0), committing it spends them"
    )
    available_delta: int
    pending_delta: int
    held_delta: int = 0
    cause: Cause
    occurred_at: datetime
    recorded_at: datetime
    details: dict[str, Any]


class TransactionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 9001,
                            "type": "earn",
                            "points": 300,
                            "available_delta": 0,
                            "pending_delta": 300,
                            "held_delta": 0,
                            "cause": {
                                "event_id": "e-7f3a9c",
                                "order_id": "o-5001",
                                "redemption_id": None,
                                "hold_id": None,
                                "actor": "system:purchase",
                            },
                            "occurred_at": "2026-12-05T10:15:00+08:00",
                            "recorded_at": "2026-12-05T10:15:02+08:00",
                            "details": {"rules": ["base", "tier"]},
                        }
                    ],
                    "next_cursor": "9000",
                }
            ]
        }
    )

    items: list[Transaction]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
