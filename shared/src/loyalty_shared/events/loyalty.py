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


class PlatformEvent(_Contract):
    """Every event the platform emits concerns a member and names what caused it."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    member_id: Id
    causation_id: str | None


class PointsEarnedV1(PlatformEvent):
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


class TierChangedV1(PlatformEvent):
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


class PointsReversedV1(PlatformEvent):
    """A refund took back part or all of what an order earned."""

    TYPE: ClassVar[str] = "points.reversed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id
    refund_id: Id
    points: int = Field(ge=0)
    bucket: Literal["pending", "available"]
    refunded_amount: str
    causation_id: Id


class PointsRedeemedV1(PlatformEvent):
    TYPE: ClassVar[str] = "points.redeemed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    redemption_id: str
    points: int = Field(gt=0)
    reward: str | None = None
    status: Literal["completed", "cancelled"]
    causation_id: str


class PointsAdjustedV1(PlatformEvent):
    TYPE: ClassVar[str] = "points.adjusted"
    VERSION: ClassVar[int] = 1

    member_id: Id
    points: int
    reason: str
    actor: str
    causation_id: str


class PointsMaturedV1(PlatformEvent):
    """A purchase's return window ended: its pending points became available."""

    TYPE: ClassVar[str] = "points.matured"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id | None
    points: int = Field(gt=0)
    matured_at: datetime
    causation_id: str


class PointsExpiredV1(PlatformEvent):
    TYPE: ClassVar[str] = "points.expired"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id | None
    points: int = Field(gt=0)
    expired_at: datetime
    causation_id: str


class PointsExpiringV1(PlatformEvent):
    """Sent once per lot, 30 days (by default) before its unspent points expire."""

    TYPE: ClassVar[str] = "points.expiring"
    VERSION: ClassVar[int] = 1

    member_id: Id
    points: int = Field(gt=0)
    expires_at: datetime
    causation_id: str


class TierDowngradeWarningV1(PlatformEvent):
    """Sent once per validity period, 30 days (by default) before an evaluation that would drop
    the member a tier at their current spend, so there is still time to keep it."""

    TYPE: ClassVar[str] = "tier.downgrade_warning"
    VERSION: ClassVar[int] = 1

    member_id: Id
    tier: str
    would_drop_to: str
    evaluation_at: datetime
    qualifying_spend_then: Money
    spend_needed: Money
    causation_id: str
