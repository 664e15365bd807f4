"""The audit log as the API lists it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntry(BaseModel):
    id: int
    recorded_at: datetime
    actor: str = Field(description="Who: the token's `sub`")
    scope: str | None = Field(
        description="The scope the call was admitted under (`loyalty:support`, ...); null when "
        "a member acted on their own data"
    )
    action: str = Field(
        description="What: `points.adjust`, `tier.override`, `member.read`, `member.export`, ..."
    )
    member_id: str | None = Field(description="Whose data, when it concerned one member")
    details: dict[str, Any] = Field(description="The action's particulars (no free text)")
    trace_id: str | None = Field(
        description="The request's W3C trace id, when it came within a trace (`traceparent`)"
    )


class AuditPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 512,
                            "recorded_at": "2026-12-05T09:30:00+00:00",
                            "actor": "agent-7",
                            "scope": "loyalty:support",
                            "action": "points.adjust",
                            "member_id": "m-1001",
                            "details": {"points": 200},
                            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                        }
                    ],
                    "next_cursor": "511",
                }
            ]
        }
    )

    items: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
