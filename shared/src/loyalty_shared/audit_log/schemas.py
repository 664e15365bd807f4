"""The audit log as the API lists it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


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
    items: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
