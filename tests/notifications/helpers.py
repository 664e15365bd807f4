"""Reading what the notifications service recorded, published and mailed, and waiting until it
knows a member."""

from __future__ import annotations

from email.message import EmailMessage
from functools import partial
from typing import Any

import httpx

from loyalty_shared.kafka.topics import LOYALTY_NOTIFICATIONS
from tests.support.kafka import read_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually


async def notifications_of(api: httpx.AsyncClient, member_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/members/{member_id}/notifications", headers=bearer(member_id))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def published(bootstrap: str, *, expect: int, timeout_s: float = 10) -> list[dict[str, Any]]:
    return await read_events(bootstrap, LOYALTY_NOTIFICATIONS, expect=expect, timeout_s=timeout_s)


async def until_enrolled(api: httpx.AsyncClient, *member_ids: str) -> None:
    """Wait until the service has read each member's enrolment (their preferences say so)."""
    for member_id in member_ids:
        preferences = partial(
            api.get, f"/v1/members/{member_id}/preferences", headers=bearer(member_id)
        )
        await eventually(preferences, lambda r: r.json()["enrolled"])


def body_of(mail: EmailMessage) -> str:
    """The text of a mail as its reader sees it (the preferred body part)."""
    part = mail.get_body()
    assert part is not None, "a mail without a body"
    text: str = part.get_content()
    return text
