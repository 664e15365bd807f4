"""Flags, the points they hold and the reviews that decide them, as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.events.loyalty import FlagReason

FlagStatus = Literal["open", "released", "voided"]

# A flag, as a member's review and the list of flags show it.
_FLAG_EXAMPLE: dict[str, Any] = {
    "id": 17,
    "member_id": "m-1003",
    "reason": "points_per_day",
    "threshold": "5000",
    "observed": "7200",
    "local_day": "2026-12-05",
    "flagged_at": "2026-12-05T10:15:00+08:00",
    "event_id": "e-7f3a9c",
    "status": "open",
    "review_id": None,
}


class Flag(BaseModel):
    id: int
    member_id: str
    reason: FlagReason = Field(description="The program's `[abuse]` threshold gone over")
    threshold: str = Field(description="The threshold, as decimal text")
    observed: str = Field(description="What was counted when the member went over it")
    local_day: date | None = Field(
        description="The day a daily threshold counted (the program's time zone); null for "
        "the 30-day ones"
    )
    flagged_at: datetime
    event_id: str = Field(description="The event that took the member over")
    status: FlagStatus = Field(description="`open` until a review releases or voids it")
    review_id: int | None


class HeldLot(BaseModel):
    id: int
    order_id: str | None = Field(description="The purchase that earned it; null for a grant")
    points: int = Field(description="What it holds now")
    earned_at: datetime
    available_at: datetime = Field(
        description="When its return window ends (a release makes it available then, or at "
        "once when that time has passed)"
    )
    expires_at: datetime


class MemberReview(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1003",
                    "flagged": True,
                    "held_points": 2400,
                    "held_lots": [
                        {
                            "id": 311,
                            "order_id": "o-5003",
                            "points": 2400,
                            "earned_at": "2026-12-05T10:15:00+08:00",
                            "available_at": "2026-12-19T10:15:00+08:00",
                            "expires_at": "2027-12-31T23:59:59+08:00",
                        }
                    ],
                    "flags": [_FLAG_EXAMPLE],
                }
            ]
        }
    )

    member_id: str
    flagged: bool = Field(description="Whether a flag is open: new points are held meanwhile")
    held_points: int = Field(description="Points held for review (counted as `pending`)")
    held_lots: list[HeldLot]
    flags: list[Flag] = Field(description="The member's latest flags, newest first")


class ReviewCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "release", "reason": "Verified bulk purchase for an office party"}
            ]
        },
    )

    decision: Literal["release", "void"] = Field(
        description="`release`: the held points mature as usual from now on (at once when "
        "their return window is over); `void`: they are reversed (`review_void` entries)"
    )
    reason: str = Field(min_length=3, max_length=500, description="Why, for the audit trail")


class Review(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "member_id": "m-1003",
                    "decision": "release",
                    "reason": "Verified bulk purchase for an office party",
                    "points": 2400,
                    "flag_ids": [17],
                    "decided_by": "agent-7",
                    "decided_at": "2026-12-05T11:00:00+08:00",
                }
            ]
        }
    )

    id: int
    member_id: str
    decision: Literal["release", "void"]
    reason: str
    points: int = Field(description="The held points released or voided")
    flag_ids: list[int] = Field(description="The flags it closed")
    decided_by: str
    decided_at: datetime


class ListedFlag(Flag):
    held_points: int = Field(description="The member's points held for review now")


class FlagPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [{**_FLAG_EXAMPLE, "held_points": 2400}], "next_cursor": None}]
        }
    )

    items: list[ListedFlag]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
