"""A member's notifications as the app lists them (contract section 3)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Notification(BaseModel):
    id: UUID
    type: str = Field(
        description="The trigger: tier_upgraded, tier_downgraded, points_digest, "
        "points_expiring, birthday, feedback_invitation, win_back, tier_downgrade_warning, "
        "reward_redeemed, coupon_expiring, referral_rewarded, action_rewarded (and "
        "detractor_alert, listed for admins only)"
    )
    channel: Literal["email", "sms", "push", "webhook"]
    status: Literal["scheduled", "sent", "failed", "suppressed"] = Field(
        description="`scheduled` also while an attempt is under way"
    )
    reason: str | None = Field(
        description="Why suppressed or failed (no-consent, coupon-used, ...), why still "
        "scheduled (quiet-hours, retrying, waiting-for-enrolment); null when sent"
    )
    attempts: int
    created_at: datetime
    scheduled_for: datetime | None = Field(description="When it is due, while scheduled")
    sent_at: datetime | None
    failed_at: datetime | None
    updated_at: datetime
    causation_id: str | None = Field(description="The event (or schedule) that caused it")


class NotificationPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "5f0c6b2e-8d1a-4c3e-9b7f-2a4d6e8f0a1b",
                            "type": "tier_upgraded",
                            "channel": "push",
                            "status": "sent",
                            "reason": None,
                            "attempts": 1,
                            "created_at": "2026-12-05T09:00:00+08:00",
                            "scheduled_for": None,
                            "sent_at": "2026-12-05T09:00:02+08:00",
                            "failed_at": None,
                            "updated_at": "2026-12-05T09:00:02+08:00",
                            "causation_id": "e-7f3a9c",
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[Notification]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
