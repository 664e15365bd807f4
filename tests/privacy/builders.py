"""Events of a member's data rights as the shop publishes them, and reading the answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from loyalty_devkit import members
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_PRIVACY
from loyalty_shared.settings import ServiceSettings
from tests.support.events import envelope
from tests.support.kafka import publish_events, read_all

NAME = "张伟 Zhang Wei"
EMAIL = "zhang.wei@example.com"
PHONE = "+86 138 0013 8000"
BIRTHDAY = "1990-05-17"
COMMENT = "张伟 here: the courier was rude and left my parcel in the rain"
#: What identifies the person, each as it would be searched for.
IDENTIFYING = ("张伟", "Zhang Wei", EMAIL, PHONE, BIRTHDAY, COMMENT)


def profile(
    member_id: str, *, event_type: str = "member.enrolled", **overrides: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "member_id": member_id,
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "locale": "en",
        "birthday": BIRTHDAY,
        "consents": {"email": True, "sms": True, "push": True},
    }
    data.update(overrides)
    return envelope(event_type, {k: v for k, v in data.items() if v is not None})


def erasure_request(member_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    return envelope(
        "member.erasure_requested",
        {"member_id": member_id, "requested_at": datetime.now(UTC).isoformat()},
        event_id=event_id or str(uuid.uuid4()),
    )


async def shop_publishes(bootstrap: str, *events: dict[str, Any]) -> None:
    await publish_events(bootstrap, COMMERCE_MEMBERS, events)


async def answers(bootstrap: str, *, expect: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    """The `privacy.erased` events on `loyalty.privacy` (their data)."""
    records = await read_all(bootstrap, LOYALTY_PRIVACY, expect=expect, timeout_s=timeout_s)
    return [orjson.loads(r.value or b"null")["data"] for r in records]


def kafka(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap=bootstrap, jwt_secret="x" * 32)


async def erase(bootstrap: str, member_id: str) -> set[str]:
    """What `loyalty member erase` does: publish, then wait for the services' answers."""
    return await members.erase(kafka(bootstrap), member_id, timeout_s=60)
