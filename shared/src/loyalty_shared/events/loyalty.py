"""Events the platform emits (documented in docs/asyncapi.yaml), version 1.

Consumers inside the platform validate them with these models just as they validate the
e-commerce backend's events: a service trusts no topic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.events.fields import DecimalText, Id, LocalizedText, Money, Rfc3339Time


class _Contract(BaseModel):
    # what the platform writes has every key, null or not (`model_dump`): documented required
    model_config = ConfigDict(
        frozen=True, extra="ignore", json_schema_serialization_defaults_required=True
    )


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
    order_id: Id = Field(description="The purchase's order.")
    points: int = Field(
        ge=0,
        description="Points credited: whole units of `total` times the currency's rate, rounded "
        "down, times the tier multiplier, rounded down. Never 0 in a published event.",
    )
    status: PointsStatus = Field(
        description="`pending` until `available_at`; `available` if the return window had "
        "already ended when the purchase was processed (no points.matured follows); `expired` if "
        "its expiry had too (a points.expired follows at once: those points were never "
        "spendable, so a digest should not announce them)."
    )
    tier: str = Field(
        description="The tier the points service knew for the member at the time (e.g. `silver`)."
    )
    multiplier: str = Field(
        description="The tier's multiplier as a decimal string, as the program writes it (e.g. "
        '`"1.25"`).'
    )
    currency: str = Field(description="The purchase's currency.")
    total: str = Field(
        description="The purchase's `total` (a decimal string; leading zeros are dropped)."
    )
    purchased_at: datetime = Field(description="The purchase event's `time`, with its offset.")
    available_at: datetime = Field(
        description="When pending points become available (`purchased_at` + return window, 14 "
        "days by default)."
    )
    expires_at: datetime = Field(
        description="When the points expire (`purchased_at` + 365 days by default; as the "
        "program's expiry policy dates them, docs/points.md#expiry-policies)."
    )
    causation_id: Id = Field(description="The `id` of the purchase.completed event.")


class TierBenefit(_Contract):
    """A benefit of a tier, named in every language of the platform."""

    id: str = Field(
        min_length=1,
        max_length=64,
        description="The program's id of the benefit; the same id on two tiers is one benefit.",
    )
    name: LocalizedText


class TierChangedV1(PlatformEvent):
    """The member's tier changed (`direction` `same`: confirmed by an evaluation or an admin)."""

    TYPE: ClassVar[str] = "tier.changed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    from_tier: str | None = Field(
        description="The previous tier; `null` for a member's first tier. The key is required."
    )
    to_tier: str = Field(
        min_length=1,
        max_length=32,
        description="The new tier; a name from the program's ladder (`bronze`, `silver`, `gold`, "
        "`platinum`).",
    )
    direction: Literal["up", "down", "same"]
    reason: Literal["spend", "evaluation", "admin", "import"]
    qualifying_spend: Money = Field(
        description="Purchases minus refunds over the qualifying window, in the program's currency."
    )
    valid_until: Rfc3339Time | None = Field(
        default=None, description="Until when the tier is kept at least; null: not said."
    )
    multiplier: DecimalText | None = Field(
        default=None,
        description="The new tier's earning multiplier, a plain decimal string with any number of "
        'fractional digits (`"1.25"`); null: not said.',
    )
    new_benefits: list[TierBenefit] = Field(
        default_factory=list,
        description="On an upgrade, the benefits of `to_tier` that `from_tier` did not have "
        "(compared by `id`), named in both languages, for the congratulation; empty otherwise "
        "(and when absent, to a reader).",
    )
    causation_id: Id | None = Field(
        default=None,
        description="The id of the event that caused the change, when there is one.",
    )


class PointsReversedV1(PlatformEvent):
    """A refund took back part or all of what an order earned."""

    TYPE: ClassVar[str] = "points.reversed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id = Field(description="The refunded order.")
    refund_id: Id = Field(description="The refund's `refund_id`.")
    points: int = Field(
        ge=0,
        description="Points this refund took back: the order's cumulative reversal after it, "
        "`floor(points earned * refunded so far / total)` (all of them once the whole total is "
        "refunded), less what earlier refunds of the order reversed. Never 0 in a published "
        "event.",
    )
    bucket: Literal["pending", "available"] = Field(
        description="Where the points came out of: `pending` while the order's points are still "
        "pending (its return window has not ended), `available` once they have matured. "
        "`available` may go below zero when the points were already spent."
    )
    refunded_amount: str = Field(
        description="The refund's `amount` (a decimal string; leading zeros are dropped)."
    )
    causation_id: Id = Field(description="The `id` of the purchase.refunded event.")


class PointsRedeemedV1(PlatformEvent):
    TYPE: ClassVar[str] = "points.redeemed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    redemption_id: str = Field(
        description="The redemption, as the redemptions API returns it (`id`).",
        json_schema_extra={"format": "uuid"},
    )
    points: int = Field(gt=0, description="The points spent (completed) or given back (cancelled).")
    reward: str | None = Field(
        default=None,
        description="What the points bought, as the request gave it (at most 200 characters); "
        "`null` if it gave none.",
        json_schema_extra={"maxLength": 200},
    )
    status: Literal["completed", "cancelled"] = Field(
        description="`completed`: the points were spent. `cancelled`: an admin cancelled the "
        "redemption and its points went back to `available`."
    )
    causation_id: str = Field(
        description="`<redemption_id>` for `completed`, `<redemption_id>:cancelled` for "
        "`cancelled`.",
        examples=[
            "3d2b8c1e-5f4a-4b7e-9c0d-1a2b3c4d5e6f",
            "3d2b8c1e-5f4a-4b7e-9c0d-1a2b3c4d5e6f:cancelled",
        ],
    )


class PointsAdjustedV1(PlatformEvent):
    TYPE: ClassVar[str] = "points.adjusted"
    VERSION: ClassVar[int] = 1

    member_id: Id
    points: int = Field(
        description="Points granted (> 0) or taken (< 0); never 0.",
        json_schema_extra={"minimum": -100_000_000, "maximum": 100_000_000, "not": {"const": 0}},
    )
    reason: str = Field(
        description="Why, as the admin wrote it (or the goodwill grant's `reason`).",
        json_schema_extra={"minLength": 1, "maxLength": 500},
    )
    actor: str = Field(
        description="Who adjusted: `admin:<sub of the admin's token>`, or "
        "`system:service-recovery` for a goodwill grant (feedback.goodwill_granted).",
        examples=["admin:ops-7"],
    )
    causation_id: str = Field(
        description="`adjustment:<id>`, the id of the adjustment (its ledger entry); for a "
        "goodwill grant, the id of the feedback.goodwill_granted event."
    )


class ReferralRewardedV1(PlatformEvent):
    """A referral paid its bonus to `member_id`: the referrer (`role` `referrer`) or the new
    member (`referee`), once the new member's first purchase was past its return window."""

    TYPE: ClassVar[str] = "referral.rewarded"
    VERSION: ClassVar[int] = 1

    member_id: Id = Field(description="Who earned the points.")
    role: Literal["referrer", "referee"]
    referee_id: Id = Field(description="The referred member: who the referral is.")
    points: int = Field(gt=0)
    expires_at: datetime
    causation_id: Id = Field(description="`referral:<referee_id>:<role>`.")


class BirthdayRewardedV1(PlatformEvent):
    """The member's birthday brought them the program's `birthday_points` for their `tier`
    (once a `year`, on the birthday in the program's time zone); the birthday message mentions
    them. A tier that earns nothing emits none."""

    TYPE: ClassVar[str] = "birthday.rewarded"
    VERSION: ClassVar[int] = 1

    member_id: Id
    year: int = Field(
        ge=1970, le=9999, description="The year of the birthday, in the program's time zone."
    )
    tier: Id = Field(description="The member's tier when the points were granted.")
    points: int = Field(gt=0)
    expires_at: datetime
    causation_id: Id = Field(description="`birthday:<member_id>:<year>`.")


class ActionRewardedV1(PlatformEvent):
    """A `member.action` earned the member `points`, available now, and the program's rule for
    the action says to tell them (`notify`); held points (a member under review) emit none."""

    TYPE: ClassVar[str] = "action.rewarded"
    VERSION: ClassVar[int] = 1

    member_id: Id
    action: Id = Field(description="The program's name for the action (`review.written`).")
    action_id: Id = Field(description="The shop's id of the action (`member.action`).")
    points: int = Field(gt=0)
    expires_at: datetime
    causation_id: Id = Field(description="The `id` of the `member.action` event.")


#: Which of the program's `[abuse]` thresholds a member went over.
FlagReason = Literal["refunds", "refund_ratio", "points_per_day", "actions_per_day"]


class MemberFlaggedV1(PlatformEvent):
    """The member went over one of the program's `[abuse]` thresholds: flagged for review, once
    per threshold and window; the points they earn stay pending until support or an admin
    releases or voids them (`POST /v1/members/{member_id}/review`)."""

    TYPE: ClassVar[str] = "member.flagged"
    VERSION: ClassVar[int] = 1

    member_id: Id
    flag_id: int = Field(
        ge=1, description="The flag, as `GET /v1/members/{member_id}/review` lists it."
    )
    reason: FlagReason = Field(description="The program's `[abuse]` threshold gone over.")
    threshold: DecimalText = Field(
        description='The threshold, as decimal text (`refund_ratio` a share, `"0.5"`; the '
        'others counts, `"3"`).'
    )
    observed: DecimalText = Field(
        description="What was counted when the member went over it, as decimal text (a ratio to "
        "4 places)."
    )
    local_day: date | None = Field(
        description="The day a daily threshold counted, in the program's time zone; null for "
        "the 30-day ones."
    )
    flagged_at: datetime
    causation_id: Id = Field(
        description="The id of the event (purchase, refund or action) that went over."
    )


class PointsMaturedV1(PlatformEvent):
    """A purchase's return window ended: its pending points became available."""

    TYPE: ClassVar[str] = "points.matured"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id | None = Field(
        description="The purchase whose points matured. The key is always there; `null` would "
        "mean points that came from no purchase (granted points are available at once, so in "
        "this build it is always an order id)."
    )
    points: int = Field(
        gt=0,
        description="Points moved from `pending` to `available` (what refunds left of the "
        "purchase's points).",
    )
    matured_at: datetime = Field(
        description="When the return window ended (the purchase's `available_at`), in UTC; not "
        "when it was written down."
    )
    causation_id: str = Field(
        description="`lot:<lot id>:matured`; the lot is the points of one purchase.",
        json_schema_extra={"pattern": "^lot:[0-9]+:matured$"},
    )


class PointsExpiredV1(PlatformEvent):
    """Unspent points reached their expiry and left `available`."""

    TYPE: ClassVar[str] = "points.expired"
    VERSION: ClassVar[int] = 1

    member_id: Id
    order_id: Id | None = Field(
        description="The purchase that earned the points; `null` for points an adjustment "
        "granted. The key is always there."
    )
    points: int = Field(gt=0, description="The unspent points that expired; they left `available`.")
    expired_at: datetime = Field(
        description="When they expired (their `expires_at`; for points a cancelled spend gave "
        "back to a lot already past it, when they came back), in UTC; not when it was written "
        "down."
    )
    causation_id: str = Field(
        description="`lot:<lot id>:expired`; the lot is the points of one purchase or one grant.",
        json_schema_extra={"pattern": "^lot:[0-9]+:expired$"},
    )


class PointsExpiringV1(PlatformEvent):
    """Sent once per lot, 30 days (by default) before its unspent points expire."""

    TYPE: ClassVar[str] = "points.expiring"
    VERSION: ClassVar[int] = 1

    member_id: Id
    points: int = Field(
        gt=0, description="The lot's points still unspent when the warning went out."
    )
    expires_at: datetime = Field(description="When they expire, in UTC (30 days away or less).")
    causation_id: str = Field(
        description="`lot:<lot id>:expiring`; the lot is the points of one purchase or one grant.",
        json_schema_extra={"pattern": "^lot:[0-9]+:expiring$"},
    )


class TierDowngradeWarningV1(PlatformEvent):
    """Sent once per validity period, 30 days (by default) before an evaluation that would drop
    the member a tier at their current spend, so there is still time to keep it."""

    TYPE: ClassVar[str] = "tier.downgrade_warning"
    VERSION: ClassVar[int] = 1

    member_id: Id
    tier: str = Field(description="The tier the member holds now.")
    would_drop_to: str = Field(description="The tier the evaluation would set (one step down).")
    evaluation_at: datetime
    qualifying_spend_then: Money = Field(
        description="The spend already made that will still count at `evaluation_at`."
    )
    spend_needed: Money = Field(
        description="More qualifying spend needed before `evaluation_at` to keep the tier."
    )
    causation_id: str = Field(description="`downgrade-warning:<member_id>:<evaluation_at>`.")


class FeedbackRequestedV1(PlatformEvent):
    """A survey invitation after a purchase: notifications turn it into a message with a link
    that carries `survey_token` (signed by the feedback service, expiring at `expires_at`)."""

    TYPE: ClassVar[str] = "feedback.requested"
    VERSION: ClassVar[int] = 1

    member_id: Id
    invitation_id: Id = Field(
        description="Derived from the order id (one invitation per order, however often replayed).",
        json_schema_extra={"format": "uuid"},
    )
    order_id: Id
    channel: Literal["online", "store", "app"]
    purchased_at: datetime
    survey_token: str = Field(
        min_length=1,
        max_length=2048,
        description="A signed JWT (HS256, the feedback service's survey key, audience "
        "`loyalty:survey`) bound to the member, the invitation and the order; put it in the "
        "survey link as is.",
    )
    expires_at: datetime
    causation_id: Id = Field(description="`invitation:<invitation_id>`.")


class FeedbackReceivedV1(PlatformEvent):
    """An NPS answer (0-10, CSAT 1-5 optional). `detractor` is true for 0-6: notifications send
    a service-recovery alert to customer service for those."""

    TYPE: ClassVar[str] = "feedback.received"
    VERSION: ClassVar[int] = 1

    member_id: Id
    feedback_id: Id = Field(json_schema_extra={"format": "uuid"})
    score: int = Field(ge=0, le=10, description='NPS, "how likely are you to recommend us" 0-10.')
    csat: int | None = Field(default=None, ge=1, le=5, description="CSAT 1-5, if answered.")
    category: Literal["promoter", "passive", "detractor"] = Field(
        description="9-10 promoter, 7-8 passive, 0-6 detractor."
    )
    detractor: bool = Field(description="True for 0-6; notifications alert customer service.")
    order_id: Id | None = None
    channel: Literal["online", "store", "app"] | None = Field(
        default=None,
        description="The order's channel; null for an answer without an order.",
    )
    comment: str | None = Field(default=None, max_length=2000)
    answered_at: datetime
    causation_id: Id | None = Field(default=None, description="`feedback:<feedback_id>`.")


class GoodwillGrantedV1(PlatformEvent):
    """Service recovery: points the program grants a detractor. The points service consumes it
    and credits `points` exactly once per event id (an available, adjustment-like entry)."""

    TYPE: ClassVar[str] = "feedback.goodwill_granted"
    VERSION: ClassVar[int] = 1

    member_id: Id
    feedback_id: Id = Field(
        description="The answer this compensates (its feedback.received has the same).",
        json_schema_extra={"format": "uuid"},
    )
    points: int = Field(gt=0, le=1_000_000)
    reason: str = Field(
        min_length=1, max_length=500, examples=["service recovery: score 3 for order o-123"]
    )
    causation_id: Id = Field(description="`feedback:<feedback_id>`.")


#: The behavioural (RFM) segments, as the feedback service names them; the model reads any name.
MEMBER_SEGMENTS = (
    "champions",
    "loyal",
    "new",
    "potential",
    "at_risk",
    "hibernating",
    "needs_attention",
)


class MemberSegmentChangedV1(PlatformEvent):
    """The member's behavioural (RFM) segment moved, e.g. loyal -> at_risk (a win-back moment)."""

    TYPE: ClassVar[str] = "member.segment_changed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    from_segment: str | None = Field(description="Null for the member's first segment.")
    to_segment: str = Field(
        min_length=1, max_length=32, json_schema_extra={"enum": [*MEMBER_SEGMENTS]}
    )
    recency_days: int = Field(
        ge=0, description="Days since the last purchase not refunded in full."
    )
    frequency: int = Field(ge=0, description="Purchases not refunded in full in the last 365 days.")
    monetary: Money = Field(description="Net spend in the program currency in the last 365 days.")
    causation_id: Id | None = Field(
        default=None, description="`segment:<member_id>:<YYYY-MM-DD>:<to_segment>`."
    )


#: The rules that make a message (docs/events.md, "Messages to members"), as the notifications
#: service names them; the models read any name.
NOTIFICATION_TRIGGERS = (
    "tier_upgraded",
    "tier_downgraded",
    "points_digest",
    "points_expiring",
    "birthday",
    "feedback_invitation",
    "detractor_alert",
    "win_back",
    "tier_downgrade_warning",
    "reward_redeemed",
    "coupon_expiring",
    "referral_rewarded",
    "action_rewarded",
)
#: A notification's trigger, as docs/asyncapi.yaml lists them (the model reads any name).
NotificationTrigger = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description='The rule that made the message (docs/events.md, "Messages to members").',
        json_schema_extra={"enum": [*NOTIFICATION_TRIGGERS]},
    ),
]
#: A notification's channel.
NotificationChannel = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        description="`webhook` is the customer-service system (detractor alerts).",
        json_schema_extra={"enum": ["email", "sms", "push", "webhook"]},
    ),
]
#: What caused a notification.
NotificationCause = Annotated[
    Id | None,
    Field(
        description="The event that caused the message (its `id`), or for scheduled ones "
        "`birthday:<member_id>:<year>` / `win_back:<member_id>:<last purchase time>`; for a "
        "points digest, the first points.earned of the day."
    ),
]


class NotificationSentV1(PlatformEvent):
    """A message reached its channel."""

    TYPE: ClassVar[str] = "notification.sent"
    VERSION: ClassVar[int] = 1

    member_id: Id
    notification_id: Id = Field(
        description="The notification (`GET /v1/members/{member_id}/notifications`); the same in "
        "the email's Message-ID and in the webhook's `webhook-id`.",
        json_schema_extra={"format": "uuid"},
    )
    trigger: NotificationTrigger
    channel: NotificationChannel
    sent_at: datetime = Field(description="When the channel accepted it.")
    causation_id: NotificationCause = None


class NotificationFailedV1(PlatformEvent):
    """A message could not be delivered."""

    TYPE: ClassVar[str] = "notification.failed"
    VERSION: ClassVar[int] = 1

    member_id: Id
    notification_id: Id = Field(json_schema_extra={"format": "uuid"})
    trigger: NotificationTrigger
    channel: NotificationChannel
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="What the channel answered (`SMTP 550 5.1.1 ...`, `webhook answered 404: "
        "...`), `gave up after N attempts: ...`, or `delivery-unknown` (a send interrupted "
        "twice).",
    )
    failed_at: datetime
    causation_id: NotificationCause = None


class PrivacyErasedV1(PlatformEvent):
    """One service has erased what identifies the member (`causation_id`: the
    `member.erasure_requested` it answers, `requested_at` its time). The topic is compacted by
    member id: the latest of these per member is the platform's register of erasures."""

    TYPE: ClassVar[str] = "privacy.erased"
    VERSION: ClassVar[int] = 1

    member_id: Id
    service: str = Field(
        min_length=1,
        max_length=32,
        json_schema_extra={"enum": ["points", "tiers", "notifications", "feedback"]},
    )
    erased_at: datetime
    requested_at: datetime = Field(description="The request's `requested_at`.")
    causation_id: Id = Field(description="The id of the member.erasure_requested this answers.")


class _Coupon(PlatformEvent):
    """Every event about a reward's coupon names the code, the reward and the redemption."""

    member_id: Id = Field(description="The member the coupon was issued to.")
    coupon_code: str = Field(
        min_length=1,
        max_length=128,
        description="The code: generated by the platform (12 characters of "
        "`23456789ABCDEFGHJKMNPQRSTWXYZ` in groups of four, `7KQX-M3PA-WZ9D`) or one uploaded to "
        "the reward's pool.",
    )
    reward_id: Id
    redemption_id: str = Field(
        description="The reward redemption (its points.redeemed carries the same id).",
        json_schema_extra={"format": "uuid"},
    )
    causation_id: str


class RewardRedeemedV1(_Coupon):
    """A member spent points on a reward: its coupon is issued (contract 5.2)."""

    TYPE: ClassVar[str] = "reward.redeemed"
    VERSION: ClassVar[int] = 1

    points: int = Field(gt=0, description="The reward's price, spent oldest points first.")
    coupon_expires_at: datetime = Field(
        description="The redemption's time plus the reward's `valid_days`, in UTC."
    )
    reward_name: LocalizedText
    coupon_value: Money = Field(description="What the coupon is worth.")
    coupon_currency: str = Field(
        description="The currency of `coupon_value`, an ISO 4217 code (`CNY`).",
        json_schema_extra={"pattern": "^[A-Z]{3}$"},
    )
    causation_id: str = Field(
        description="The `redemption_id`.", json_schema_extra={"format": "uuid"}
    )


class CouponUsedV1(_Coupon):
    """A purchase named the coupon (`purchase.completed` `coupons`): used, once, by that order.
    `member_id` is the coupon's owner; `causation_id` the purchase event."""

    TYPE: ClassVar[str] = "coupon.used"
    VERSION: ClassVar[int] = 1

    order_id: Id = Field(description="The first order that named the code.")
    used_at: datetime = Field(description="The purchase's `time`.")
    causation_id: str = Field(description="The id of the purchase.completed event.")


class CouponExpiringV1(_Coupon):
    """Sent once per coupon, `rewards.coupon_reminder_days` (7) before it expires unused."""

    TYPE: ClassVar[str] = "coupon.expiring"
    VERSION: ClassVar[int] = 1

    expires_at: datetime = Field(description="When the coupon expires, in UTC.")
    reward_name: LocalizedText
    coupon_value: Money = Field(description="What the coupon is worth.")
    coupon_currency: str = Field(
        description="The currency of `coupon_value`, an ISO 4217 code (`CNY`).",
        json_schema_extra={"pattern": "^[A-Z]{3}$"},
    )
    causation_id: str = Field(
        description="`coupon:<coupon id>:expiring`.",
        json_schema_extra={"pattern": "^coupon:[0-9]+:expiring$"},
    )


class CouponExpiredV1(_Coupon):
    """The coupon's validity ended unused; `points_returned` is 0 unless the program gives the
    points back (`rewards.return_points_on_coupon_expiry`)."""

    TYPE: ClassVar[str] = "coupon.expired"
    VERSION: ClassVar[int] = 1

    expired_at: datetime = Field(description="The coupon's `expires_at`, not when the job ran.")
    points_returned: int = Field(
        ge=0, description="The points given back (0 unless the program returns them)."
    )
    causation_id: str = Field(
        description="`coupon:<coupon id>:expired`.",
        json_schema_extra={"pattern": "^coupon:[0-9]+:expired$"},
    )


class CouponVoidedV1(_Coupon):
    """The redemption was cancelled before the coupon was used: the shop must refuse the code."""

    TYPE: ClassVar[str] = "coupon.voided"
    VERSION: ClassVar[int] = 1

    voided_at: datetime = Field(description="When the redemption was cancelled.")
    causation_id: str = Field(description="`<redemption_id>:voided`.")
