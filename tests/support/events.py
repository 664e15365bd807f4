"""Builders for the events the e-commerce backend publishes, as the contract shows them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from loyalty_shared.events.envelope import cloud_event

NOW = datetime.now(UTC)


def envelope(
    event_type: str,
    data: dict[str, Any],
    *,
    subject: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """As the shop publishes it: the subject is the member unless given; `overrides` replace or
    add attributes (to break the envelope on purpose)."""
    event = cloud_event(
        event_type,
        data,
        source="shop/web",
        subject=subject if subject is not None else data.get("member_id"),
        event_id=event_id,
        time=time,
    )
    event.update(overrides)
    return event


def purchase_data(
    member_id: str = "m-1001",
    order_id: str | None = None,
    total: str = "399.00",
    currency: str = "CNY",
    channel: str = "online",
    **overrides: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": order_id or f"o-{uuid.uuid4().hex[:12]}",
        "member_id": member_id,
        "channel": channel,
        "store_id": None,
        "currency": currency,
        "total": total,
        "items": [{"sku": "sku-1", "category": "apparel", "quantity": 1, "unit_price": total}],
    }
    data.update(overrides)
    return data


def purchase(
    member_id: str = "m-1001",
    total: str = "399.00",
    *,
    days_ago: float = 0,
    event_id: str | None = None,
    **data_overrides: Any,
) -> dict[str, Any]:
    return envelope(
        "purchase.completed",
        purchase_data(member_id, total=total, **data_overrides),
        event_id=event_id,
        time=datetime.now(UTC) - timedelta(days=days_ago),
    )


def tier_changed(member_id: str, to_tier: str, *, from_tier: str = "bronze") -> dict[str, Any]:
    return envelope(
        "tier.changed",
        {
            "member_id": member_id,
            "from_tier": from_tier,
            "to_tier": to_tier,
            "direction": "up",
            "reason": "spend",
            "qualifying_spend": "5200.00",
            "valid_until": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
        },
    )


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)
