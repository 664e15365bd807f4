"""Events the platform emits (documented in docs/asyncapi.yaml), version 1.

Consumers inside the platform validate them with these models just as they validate the
e-commerce backend's events: a service trusts no topic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.events.fields import DecimalText, Id, LocalizedText, Money, Rfc3339Time


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PlatformEvent(_Contract):
    """Every event the platform emits concerns a member and names what caused it."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    member_id: Id
    causation_id: str | None


#: What a purchase's points are when they are credited: `expired` when the purchase was older
#: than the program's expiry by the time it was processed (its `points.expired` follows).
PointsStatus = Literal["pending", "available", "expired"]


class PointsEarnedV1(PlatformEvent):
    TYPE: ClassVar[str] = "points.earned"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id
    points: int = Field(ge=0)
    status: PointsStatus
    tier: str
    multiplier: str
    currency: str
    total: str
    purchased_at: datetime
    available_at: datetime
    expires_at: datetime
    causation_id: Id


class TierBenefit(_Contract):
    id: str = Field(min_length=1, max_length=64)
    name: LocalizedText


class TierChangedV1(PlatformEvent):
    """`new_benefits`: on an upgrade, the benefits of `to_tier` that `from_tier` did not have."""

    TYPE: ClassVar[str] = "tier.changed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    from_tier: str | None
    to_tier: str = Field(min_length=1, max_length=32)
    direction: Literal["up", "down", "same"]
    reason: Literal["spend", "evaluation", "admin", "import"]
    qualifying_spend: Money
    valid_until: Rfc3339Time | None = None
    multiplier: DecimalText | None = None
    new_benefits: list[TierBenefit] = Field(default_factory=list)
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


class ReferralRewardedV1(PlatformEvent):
    """A referral paid its bonus to `member_id`: the referrer (`role` `referrer`) or the new
    member (`referee`), once the new member's first purchase was past its return window."""

    TYPE: ClassVar[str] = "referral.rewarded"
    VERSION: ClassVar[int] = 1

    member_id: Id
    role: Literal["referrer", "referee"]
    #: The referred member: who the referral is.
    referee_id: Id
    points: int = Field(gt=0)
    expires_at: datetime
    causation_id: Id


class BirthdayRewardedV1(PlatformEvent):
    """The member's birthday brought them the program's `birthday_points` for their `tier`
    (once a `year`, on the birthday in the program's time zone); the birthday message mentions
    them. A tier that earns nothing emits none."""

    TYPE: ClassVar[str] = "birthday.rewarded"
    VERSION: ClassVar[int] = 1

    member_id: Id
    #: The year of the birthday (in the program's time zone).
    year: int = Field(ge=1970, le=9999)
    tier: Id
    points: int = Field(gt=0)
    expires_at: datetime
    causation_id: Id


#: Which of the program's `[abuse]` thresholds a member went over.
FlagReason = Literal["refunds", "refund_ratio", "points_per_day", "actions_per_day"]


class MemberFlaggedV1(PlatformEvent):
    """The member went over one of the program's `[abuse]` thresholds: flagged for review, once
    per threshold and window; the points they earn stay pending until support or an admin
    releases or voids them (`POST /v1/members/{member_id}/review`)."""

    TYPE: ClassVar[str] = "member.flagged"
    VERSION: ClassVar[int] = 1

    member_id: Id
    flag_id: int = Field(ge=1)
    reason: FlagReason
    #: The program's threshold and what was counted, as decimal text (`"3"`, `"0.5"`).
    threshold: DecimalText
    observed: DecimalText
    #: The day a daily threshold counted, in the program's time zone (null: the last 30 days).
    local_day: date | None
    flagged_at: datetime
    #: The event that took the member over.
    causation_id: Id


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


class FeedbackRequestedV1(PlatformEvent):
    """A survey invitation after a purchase: notifications turn it into a message with a link
    that carries `survey_token` (signed by the feedback service, expiring at `expires_at`)."""

    TYPE: ClassVar[str] = "feedback.requested"
    VERSION: ClassVar[int] = 1

    member_id: Id
    invitation_id: Id
    order_id: Id
    channel: Literal["online", "store", "app"]
    purchased_at: datetime
    survey_token: str = Field(min_length=1, max_length=2048)
    expires_at: datetime
    causation_id: Id


class FeedbackReceivedV1(PlatformEvent):
    """An NPS answer (0-10, CSAT 1-5 optional). `detractor` is true for 0-6: notifications send
    a service-recovery alert to customer service for those."""

    TYPE: ClassVar[str] = "feedback.received"
    VERSION: ClassVar[int] = 1

    member_id: Id
    feedback_id: Id
    score: int = Field(ge=0, le=10)
    csat: int | None = Field(default=None, ge=1, le=5)
    category: Literal["promoter", "passive", "detractor"]
    detractor: bool
    order_id: Id | None = None
    channel: Literal["online", "store", "app"] | None = None
    comment: str | None = Field(default=None, max_length=2000)
    answered_at: datetime
    causation_id: Id | None = None


class GoodwillGrantedV1(PlatformEvent):
    """Service recovery: points the program grants a detractor. The points service consumes it
    and credits `points` exactly once per event id (an available, adjustment-like entry)."""

    TYPE: ClassVar[str] = "feedback.goodwill_granted"
    VERSION: ClassVar[int] = 1

    member_id: Id
    feedback_id: Id
    points: int = Field(gt=0, le=1_000_000)
    reason: str = Field(min_length=1, max_length=500)
    causation_id: Id


class MemberSegmentChangedV1(PlatformEvent):
    """The member's behavioural (RFM) segment moved, e.g. loyal -> at_risk (a win-back moment)."""

    TYPE: ClassVar[str] = "member.segment_changed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    from_segment: str | None
    to_segment: str = Field(min_length=1, max_length=32)
    recency_days: int = Field(ge=0)
    frequency: int = Field(ge=0)
    monetary: Money
    causation_id: Id | None = None


class NotificationSentV1(PlatformEvent):
    TYPE: ClassVar[str] = "notification.sent"
    VERSION: ClassVar[int] = 1

    member_id: Id
    notification_id: Id
    trigger: str = Field(min_length=1, max_length=64)
    channel: str = Field(min_length=1, max_length=32)
    sent_at: datetime
    causation_id: Id | None = None


class NotificationFailedV1(PlatformEvent):
    TYPE: ClassVar[str] = "notification.failed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    notification_id: Id
    trigger: str = Field(min_length=1, max_length=64)
    channel: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=500)
    failed_at: datetime
    causation_id: Id | None = None


class PrivacyErasedV1(PlatformEvent):
    """One service has erased what identifies the member (`causation_id`: the
    `member.erasure_requested` it answers, `requested_at` its time). The topic is compacted by
    member id: the latest of these per member is the platform's register of erasures."""

    TYPE: ClassVar[str] = "privacy.erased"
    VERSION: ClassVar[int] = 1

    member_id: Id
    service: str = Field(min_length=1, max_length=32)
    erased_at: datetime
    requested_at: datetime
    causation_id: Id


class _Coupon(PlatformEvent):
    """Every event about a reward's coupon names the code, the reward and the redemption."""

    member_id: Id
    coupon_code: str = Field(min_length=1, max_length=128)
    reward_id: Id
    redemption_id: str
    causation_id: str


class RewardRedeemedV1(_Coupon):
    """A member spent points on a reward: its coupon is issued (contract 5.2)."""

    TYPE: ClassVar[str] = "reward.redeemed"
    VERSION: ClassVar[int] = 1

    points: int = Field(gt=0)
    coupon_expires_at: datetime
    reward_name: LocalizedText
    coupon_value: Money
    coupon_currency: str


class CouponUsedV1(_Coupon):
    """A purchase named the coupon (`purchase.completed` `coupons`): used, once, by that order.
    `member_id` is the coupon's owner; `causation_id` the purchase event."""

    TYPE: ClassVar[str] = "coupon.used"
    VERSION: ClassVar[int] = 1

    order_id: Id
    used_at: datetime


class CouponExpiringV1(_Coupon):
    """Sent once per coupon, `rewards.coupon_reminder_days` (7) before it expires unused."""

    TYPE: ClassVar[str] = "coupon.expiring"
    VERSION: ClassVar[int] = 1

    expires_at: datetime
    reward_name: LocalizedText
    coupon_value: Money
    coupon_currency: str


class CouponExpiredV1(_Coupon):
    """The coupon's validity ended unused; `points_returned` is 0 unless the program gives the
    points back (`rewards.return_points_on_coupon_expiry`)."""

    TYPE: ClassVar[str] = "coupon.expired"
    VERSION: ClassVar[int] = 1

    expired_at: datetime
    points_returned: int = Field(ge=0)


class CouponVoidedV1(_Coupon):
    """The redemption was cancelled before the coupon was used: the shop must refuse the code."""

    TYPE: ClassVar[str] = "coupon.voided"
    VERSION: ClassVar[int] = 1

    voided_at: datetime
