"""What the campaign endpoints take and answer (and the draft a simulation takes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from loyalty_shared.events.fields import DecimalText, Rfc3339Time
from loyalty_shared.program.schema import Category, Channel, RuleName

# The examples of a campaign as it is asked for, and as it is shown once in force.
_REQUEST_EXAMPLE: dict[str, Any] = {
    "campaign_id": "double-11",
    "multiplier": "2",
    "starts_at": "2026-11-11T00:00:00+08:00",
    "ends_at": "2026-11-12T00:00:00+08:00",
    "channels": ["online", "app"],
    "categories": [],
}
_VIEW_EXAMPLE: dict[str, Any] = {
    **_REQUEST_EXAMPLE,
    "version": 1,
    "status": "finished",
    "in_force_from": "2026-11-01T09:00:00+08:00",
    "in_force_until": None,
    "created_by": "marketer-3",
    "ended_by": None,
}


class CampaignRequest(BaseModel):
    """A dated bonus rule, as the program file's `[[earning.campaigns]]` but with instants: the
    same field rules (checked again as a campaign of the program, see campaigns/in_force.py)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [_REQUEST_EXAMPLE]},
    )

    campaign_id: RuleName = Field(
        description="Names the campaign in the ledger (`campaign:<id>`); posting an id again "
        "changes that campaign (a new version)"
    )
    starts_at: Rfc3339Time = Field(description="Purchases whose `time` is at or after this earn")
    ends_at: Rfc3339Time = Field(description="...and before this (excluded)")
    multiplier: Annotated[DecimalText, Field(ge=1, le=100)] = Field(
        description='A decimal string ("2", "1.5"): adds (multiplier - 1) x the base points'
    )
    channels: list[Channel] = Field(
        default_factory=list, description="Only purchases on these channels (all when empty)"
    )
    categories: list[Category] = Field(
        default_factory=list,
        description="Only on these categories' share of the order (the whole order when empty)",
    )

    @model_validator(mode="after")
    def _window(self) -> CampaignRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


CampaignStatus = Literal["scheduled", "running", "finished", "ended", "superseded"]


class CampaignView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_VIEW_EXAMPLE]})

    campaign_id: str
    version: int = Field(description="1 for the first, one more for each change")
    multiplier: str = Field(description="A decimal string")
    starts_at: datetime
    ends_at: datetime
    channels: list[str]
    categories: list[str]
    status: CampaignStatus = Field(
        description="In force: `scheduled` (its window has not begun), `running`, `finished` "
        "(its window is over; purchases of the window that arrive late still earn it). Not in "
        "force: `ended` (by an operator), `superseded` (by a later version)"
    )
    in_force_from: datetime = Field(description="Purchases processed from then on earn under it")
    in_force_until: datetime | None = Field(
        description="...until then (ended, or a new version); null while in force"
    )
    created_by: str = Field(description="The operator's `sub`")
    ended_by: str | None = None


class CampaignPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_VIEW_EXAMPLE], "next_cursor": None}]}
    )

    items: list[CampaignView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
