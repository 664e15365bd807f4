"""`loyalty demo`: a realistic stream of members, purchases and refunds for a running platform.

Events are built the way the e-commerce backend must build them (CloudEvents, member id as key
and subject, money as decimal strings), some backdated past the return window so their points
are available at once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from loyalty_shared.events.envelope import CONTENT_TYPE, cloud_event
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, COMMERCE_PURCHASES

CATEGORIES = {
    "apparel": (Decimal("59"), Decimal("899")),
    "beauty": (Decimal("39"), Decimal("599")),
    "electronics": (Decimal("199"), Decimal("6999")),
    "grocery": (Decimal("5"), Decimal("120")),
    "home": (Decimal("29"), Decimal("1599")),
}
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳"]
EN_NAMES = ["Alex Chen", "Maya Lin", "Sam Wu", "Grace Ho", "Leo Zhang", "Iris Zhou"]


Message = tuple[str, bytes, bytes]  # topic, key, value


def shop_event(
    topic: str, event_type: str, member_id: str, data: dict[str, Any], time: datetime
) -> Message:
    """An event as the demo shop publishes it: the member id as key, a CloudEvent as value."""
    value = cloud_event(event_type, data, source="shop/demo", subject=member_id, time=time)
    return topic, member_id.encode(), orjson.dumps(value)


def random_profile(rng: random.Random, member_id: str) -> dict[str, Any]:
    """A member's profile as the shop sends it: a Chinese name (an English one and locale for
    three in ten), a birthday, the channels they consent to."""
    english = rng.random() < 0.3
    return {
        "member_id": member_id,
        "name": rng.choice(EN_NAMES) if english else rng.choice(SURNAMES) + rng.choice(GIVEN),
        "email": f"{member_id}@example.com",
        "locale": "en" if english else "zh-CN",
        "birthday": f"{rng.randint(1960, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "consents": {"email": True, "sms": rng.random() < 0.5, "push": rng.random() < 0.7},
    }


def random_items(rng: random.Random) -> tuple[list[dict[str, Any]], Decimal]:
    """An order's one to three lines, of the catalogue's categories and price ranges, and its
    total."""
    items: list[dict[str, Any]] = []
    total = Decimal(0)
    for _ in range(rng.randint(1, 3)):
        category = rng.choice(list(CATEGORIES))
        low, high = CATEGORIES[category]
        price = (low + (high - low) * Decimal(rng.random())).quantize(Decimal("0.01"))
        quantity = rng.randint(1, 2)
        total += price * quantity
        items.append(
            {
                "sku": f"sku-{category}-{rng.randint(1, 400)}",
                "category": category,
                "quantity": quantity,
                "unit_price": str(price),
            }
        )
    return items, total


def demo_stream(members: int, purchases: int, seed: int) -> Iterator[Message]:
    rng = random.Random(seed)
    tz = datetime.now(UTC).astimezone().tzinfo
    now = datetime.now(tz)
    member_ids = [f"m-{n:04d}" for n in range(1, members + 1)]
    for member_id in member_ids:
        profile = random_profile(rng, member_id)
        yield shop_event(COMMERCE_MEMBERS, "member.enrolled", member_id, profile, now)
    for n in range(purchases):
        member_id = rng.choice(member_ids)
        items, total = random_items(rng)
        order_id = f"o-{seed}-{n:06d}"
        # a third of the orders are older than the 14-day return window: available at once
        time = now - timedelta(days=rng.choice([0, 0, 1, 3, 20, 45]), minutes=rng.randint(0, 600))
        purchase = {
            "order_id": order_id,
            "member_id": member_id,
            "channel": rng.choice(["online", "store", "app"]),
            "currency": "CNY",
            "total": str(total),
            "items": items,
        }
        yield shop_event(COMMERCE_PURCHASES, "purchase.completed", member_id, purchase, time)
        if rng.random() < 0.08:
            refund = {
                "order_id": order_id,
                "refund_id": f"r-{order_id}",
                "member_id": member_id,
                "currency": "CNY",
                "amount": str((total / 2).quantize(Decimal("0.01"))),
            }
            later = time + timedelta(hours=2)
            yield shop_event(COMMERCE_PURCHASES, "purchase.refunded", member_id, refund, later)


HEADERS = [("content-type", CONTENT_TYPE.encode())]


#: A small catalogue `loyalty demo` creates (bodies of POST /v1/rewards).
DEMO_REWARDS: list[dict[str, Any]] = [
    {
        "reward_id": "demo-coffee",
        "name": {"zh-CN": "咖啡券", "en": "Coffee voucher"},
        "points": 150,
        "coupon": {"value": "15.00", "currency": "CNY", "valid_days": 30},
    },
    {
        "reward_id": "demo-shipping",
        "name": {"zh-CN": "免运费券", "en": "Free shipping voucher"},
        "points": 300,
        "stock": 50,
        "per_member_limit": 2,
        "coupon": {"value": "12.00", "currency": "CNY", "valid_days": 14},
    },
    {
        "reward_id": "demo-gold-gift",
        "name": {"zh-CN": "金卡专享礼盒", "en": "Gold members' gift box"},
        "points": 2000,
        "stock": 10,
        "min_tier": "gold",
        "coupon": {"value": "200.00", "currency": "CNY", "valid_days": 60},
    },
]
