"""Events the platform emits (documented in docs/asyncapi.yaml), version 1.

Consumers inside the platform validate them with these models just as they validate the
e-commerce backend's events: a service trusts no topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.events.fields import DecimalText, Id, Money, Rfc3339Time


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PointsEarnedV1(_Contract):
    TYPE: ClassVar[str] = "points.earned"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id
    points: int = Field(ge=0)
    status: Literal["pending", "available"]
    tier: str
    multiplier: str
    currency: str
    total: str
    purchased_at: datetime
    available_at: datetime
    expires_at: datetime
    causation_id: Id


class TierChangedV1(_Contract):
    TYPE: ClassVar[str] = "tier.changed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    from_tier: str | None
    to_tier: str = Field(min_length=1, max_length=32)
    direction: Literal["up", "down", "same"]
    reason: Literal["spend", "evaluation", "admin"]
    qualifying_spend: Money
    valid_until: Rfc3339Time | None = None
    multiplier: DecimalText | None = None
    causation_id: Id | None = None
