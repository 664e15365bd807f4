"""Events the notifications service reacts to, as their publishers write them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.events import envelope


def member_enrolled(
    member_id: str,
    name: str,
    *,
    email: str | None = None,
    locale: str = "zh-CN",
    birthday: str | None = None,
    consents: dict[str, bool] | None = None,
    event_type: str = "member.enrolled",
) -> dict[str, Any]:
    return envelope(
        event_type,
        {
            "member_id": member_id,
            "name": name,
            "email": email or f"{member_id}@example.com",
            "locale": locale,
            "birthday": birthday,
            "consents": consents or {"email": True, "sms": False, "push": False},
        },
    )


def tier_changed(
    member_id: str, to_tier: str, *, from_tier: str = "silver", direction: str = "up"
) -> dict[str, Any]:
    return envelope(
        "tier.changed",
        {
            "member_id": member_id,
            "from_tier": from_tier,
            "to_tier": to_tier,
            "direction": direction,
            "reason": "spend",
            "qualifying_spend": "21000.00",
            "valid_until": "2027-11-24T10:00:00+00:00",
            "multiplier": "1.5",
            "causation_id": str(uuid.uuid4()),
        },
        source="loyalty/tiers",
    )


def points_expiring(member_id: str, points: int, expires_at: datetime) -> dict[str, Any]:
    return envelope(
        "points.expiring",
        {
            "member_id": member_id,
            "points": points,
            "expires_at": expires_at.isoformat(),
            "causation_id": f"lot:{uuid.uuid4().hex[:8]}:expiring",
        },
        source="loyalty/points",
    )


def points_earned(member_id: str, points: int, status: str = "pending") -> dict[str, Any]:
    now = datetime.now(UTC)
    return envelope(
        "points.earned",
        {
            "member_id": member_id,
            "order_id": f"o-{uuid.uuid4().hex[:8]}",
            "points": points,
            "status": status,
            "tier": "bronze",
            "multiplier": "1.0",
            "currency": "CNY",
            "total": f"{points}.00",
            "purchased_at": now.isoformat(),
            "available_at": (now + timedelta(days=14)).isoformat(),
            "expires_at": (now + timedelta(days=365)).isoformat(),
            "causation_id": str(uuid.uuid4()),
        },
        source="loyalty/points",
    )


def feedback_requested(member_id: str, token: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return envelope(
        "feedback.requested",
        {
            "member_id": member_id,
            "invitation_id": f"inv-{uuid.uuid4().hex[:8]}",
            "order_id": "o-2001",
            "channel": "online",
            "purchased_at": now.isoformat(),
            "survey_token": token,
            "expires_at": (now + timedelta(days=14)).isoformat(),
            "causation_id": str(uuid.uuid4()),
        },
        source="loyalty/feedback",
    )


def feedback_received(
    member_id: str, score: int, comment: str | None = None, answered_at: datetime | None = None
) -> dict[str, Any]:
    category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return envelope(
        "feedback.received",
        {
            "member_id": member_id,
            "feedback_id": f"f-{uuid.uuid4().hex[:8]}",
            "score": score,
            "category": category,
            "detractor": category == "detractor",
            "order_id": "o-2001",
            "channel": "online",
            "comment": comment,
            "answered_at": (answered_at or datetime.now(UTC)).isoformat(),
            "causation_id": None,
        },
        source="loyalty/feedback",
    )


def _coupon(member_id: str, code: str) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "coupon_code": code,
        "reward_id": "coffee",
        "redemption_id": str(uuid.uuid4()),
    }


def reward_redeemed(member_id: str, code: str, expires_at: datetime) -> dict[str, Any]:
    return envelope(
        "reward.redeemed",
        {
            **_coupon(member_id, code),
            "points": 100,
            "coupon_expires_at": expires_at.isoformat(),
            "reward_name": {"zh-CN": "咖啡券", "en": "Coffee voucher"},
            "coupon_value": "15.00",
            "coupon_currency": "CNY",
            "causation_id": str(uuid.uuid4()),
        },
        source="loyalty/points",
    )


def coupon_expiring(member_id: str, code: str, expires_at: datetime) -> dict[str, Any]:
    return envelope(
        "coupon.expiring",
        {
            **_coupon(member_id, code),
            "expires_at": expires_at.isoformat(),
            "reward_name": {"zh-CN": "咖啡券", "en": "Coffee voucher"},
            "coupon_value": "15.00",
            "coupon_currency": "CNY",
            "causation_id": f"coupon:{uuid.uuid4().int % 10_000}:expiring",
        },
        source="loyalty/points",
    )


def coupon_used(member_id: str, code: str) -> dict[str, Any]:
    return envelope(
        "coupon.used",
        {
            **_coupon(member_id, code),
            "order_id": "o-3001",
            "used_at": datetime.now(UTC).isoformat(),
            "causation_id": str(uuid.uuid4()),
        },
        source="loyalty/points",
    )


def referral_rewarded(
    member_id: str, role: str, points: int, expires_at: datetime
) -> dict[str, Any]:
    return envelope(
        "referral.rewarded",
        {
            "member_id": member_id,
            "role": role,
            "referee_id": "m-friend" if role == "referrer" else member_id,
            "points": points,
            "expires_at": expires_at.isoformat(),
            "causation_id": str(uuid.uuid4()),
        },
        source="loyalty/points",
    )


def action_rewarded(
    member_id: str, action: str, points: int, expires_at: datetime
) -> dict[str, Any]:
    return envelope(
        "action.rewarded",
        {
            "member_id": member_id,
            "action": action,
            "action_id": f"a-{uuid.uuid4().hex[:8]}",
            "points": points,
            "expires_at": expires_at.isoformat(),
            "causation_id": str(uuid.uuid4()),
        },
        source="loyalty/points",
    )


def birthday_rewarded(member_id: str, year: int, points: int, tier: str = "gold") -> dict[str, Any]:
    return envelope(
        "birthday.rewarded",
        {
            "member_id": member_id,
            "year": year,
            "tier": tier,
            "points": points,
            "expires_at": datetime(year + 1, 3, 1, tzinfo=UTC).isoformat(),
            "causation_id": f"birthday:{member_id}:{year}",
        },
        source="loyalty/points",
    )
