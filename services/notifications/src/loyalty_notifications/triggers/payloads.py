"""What each trigger puts into its message: the template variables, built in one place so the
samples rendered at start carry exactly the keys the real messages carry.

Values are JSON-ready (times as RFC 3339 text, money as decimal text): they are stored with the
notification and rendered when it is sent, in the member's language and time zone then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loyalty_shared.events.fields import LocalizedText
from loyalty_shared.events.loyalty import FeedbackReceivedV1

Payload = dict[str, Any]

TIER_UPGRADED = "tier_upgraded"
TIER_DOWNGRADED = "tier_downgraded"
POINTS_DIGEST = "points_digest"
POINTS_EXPIRING = "points_expiring"
BIRTHDAY = "birthday"
FEEDBACK_INVITATION = "feedback_invitation"
DETRACTOR_ALERT = "detractor_alert"
WIN_BACK = "win_back"
TIER_DOWNGRADE_WARNING = "tier_downgrade_warning"
REWARD_REDEEMED = "reward_redeemed"
COUPON_EXPIRING = "coupon_expiring"
REFERRAL_REWARDED = "referral_rewarded"
ACTION_REWARDED = "action_rewarded"

TRIGGERS = (
    TIER_UPGRADED,
    TIER_DOWNGRADED,
    POINTS_DIGEST,
    POINTS_EXPIRING,
    BIRTHDAY,
    FEEDBACK_INVITATION,
    DETRACTOR_ALERT,
    WIN_BACK,
    TIER_DOWNGRADE_WARNING,
    REWARD_REDEEMED,
    COUPON_EXPIRING,
    REFERRAL_REWARDED,
    ACTION_REWARDED,
)

#: Messages about one coupon: not sent once the coupon was used or voided.
COUPON_TRIGGERS = (REWARD_REDEEMED, COUPON_EXPIRING)

#: Messages for customer service, not for the member: no consent, quiet hours or language apply.
STAFF_TRIGGERS = frozenset({DETRACTOR_ALERT})


def tier_changed(
    *,
    from_tier: str | None,
    to_tier: str,
    valid_until: datetime | None,
    new_benefits: Sequence[LocalizedText] = (),
) -> Payload:
    """`new_benefits`: their names in both languages (the message is rendered in the member's
    language when it is sent)."""
    return {
        "from_tier": from_tier or "",
        "to_tier": to_tier,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "new_benefits": list(new_benefits),
    }


def points_digest(*, day: date, points: int, purchases: int) -> Payload:
    return {"day": day.isoformat(), "points": points, "purchases": purchases}


def points_expiring(*, points: int, expires_at: datetime) -> Payload:
    return {"points": points, "expires_at": expires_at.isoformat()}


def birthday(*, year: int, points: int = 0) -> Payload:
    """`points`: the birthday points the member earned this year (0: none to mention)."""
    return {"year": year, "points": points}


def feedback_invitation(*, order_id: str, survey_url: str, expires_at: datetime) -> Payload:
    return {"order_id": order_id, "survey_url": survey_url, "expires_at": expires_at.isoformat()}


def detractor_alert(answer: FeedbackReceivedV1) -> Payload:
    return {
        "member_id": answer.member_id,
        "feedback_id": answer.feedback_id,
        "score": answer.score,
        "comment": answer.comment or "",
        "order_id": answer.order_id or "",
        "channel": answer.channel or "",
        "answered_at": answer.answered_at.isoformat(),
    }


def win_back(*, days: int, last_purchase_at: datetime) -> Payload:
    return {"days": days, "last_purchase_at": last_purchase_at.isoformat()}


def tier_downgrade_warning(
    *, tier: str, would_drop_to: str, evaluation_at: datetime, spend_needed: Decimal
) -> Payload:
    return {
        "tier": tier,
        "would_drop_to": would_drop_to,
        "evaluation_at": evaluation_at.isoformat(),
        "spend_needed": str(spend_needed),
    }


def coupon(
    *,
    reward_name: LocalizedText,
    code: str,
    value: Decimal,
    currency: str,
    expires_at: datetime,
) -> Payload:
    """What a message about a member's coupon says: the reward, the code, its worth and until
    when. Nothing else about the member is kept."""
    return {
        "reward_name": reward_name,
        "coupon_code": code,
        "coupon_value": str(value),
        "coupon_currency": currency,
        "expires_at": expires_at.isoformat(),
    }


def referral_rewarded(*, role: str, points: int, expires_at: datetime) -> Payload:
    """`role`: `referrer` (a friend they referred made a first purchase) or `referee` (their
    welcome bonus). Who the friend is stays out of the message."""
    return {"role": role, "points": points, "expires_at": expires_at.isoformat()}


def action_rewarded(*, action: str, points: int, expires_at: datetime) -> Payload:
    """`action`: the program's name for it (`review.written`); the templates name the ones the
    default program has and call any other an activity."""
    return {"action": action, "points": points, "expires_at": expires_at.isoformat()}


_AT = datetime.fromisoformat("2026-11-20T10:15:00+08:00")

_SAMPLE_COUPON = coupon(
    reward_name={"zh-CN": "咖啡券", "en": "Coffee voucher"},
    code="7KQX-M3PA-WZ9D",
    value=Decimal("15.00"),
    currency="CNY",
    expires_at=_AT,
)

#: One example per trigger, rendered in every language at start (a template that uses a
#: variable its trigger does not provide stops the service there, not at send time).
SAMPLES: dict[str, Payload] = {
    TIER_UPGRADED: tier_changed(
        from_tier="silver",
        to_tier="gold",
        valid_until=_AT,
        new_benefits=[{"zh-CN": "所有订单免运费", "en": "Free shipping on every order"}],
    ),
    TIER_DOWNGRADED: tier_changed(from_tier="gold", to_tier="silver", valid_until=_AT),
    POINTS_DIGEST: points_digest(day=_AT.date(), points=1234, purchases=2),
    POINTS_EXPIRING: points_expiring(points=1500, expires_at=_AT),
    BIRTHDAY: birthday(year=2026, points=200),
    FEEDBACK_INVITATION: feedback_invitation(
        order_id="o-1", survey_url="https://shop.example.com/survey?token=t", expires_at=_AT
    ),
    DETRACTOR_ALERT: detractor_alert(
        FeedbackReceivedV1(
            member_id="m-1",
            feedback_id="f-1",
            score=3,
            category="detractor",
            detractor=True,
            comment="slow delivery",
            order_id="o-1",
            channel="online",
            answered_at=_AT,
        )
    ),
    WIN_BACK: win_back(days=90, last_purchase_at=_AT),
    TIER_DOWNGRADE_WARNING: tier_downgrade_warning(
        tier="gold", would_drop_to="silver", evaluation_at=_AT, spend_needed=Decimal("1200.50")
    ),
    REWARD_REDEEMED: _SAMPLE_COUPON,
    COUPON_EXPIRING: _SAMPLE_COUPON,
    REFERRAL_REWARDED: referral_rewarded(role="referrer", points=500, expires_at=_AT),
    ACTION_REWARDED: action_rewarded(action="review.written", points=20, expires_at=_AT),
}
