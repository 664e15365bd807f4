"""Reading what the notifications service recorded and published."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from loyalty_shared.kafka.topics import LOYALTY_NOTIFICATIONS
from tests.support.kafka import read_all
from tests.support.tokens import bearer


async def notifications_of(api: httpx.AsyncClient, member_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/members/{member_id}/notifications", headers=bearer(member_id))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def published(bootstrap: str, *, expect: int, timeout_s: float = 10) -> list[dict[str, Any]]:
    records = await read_all(bootstrap, LOYALTY_NOTIFICATIONS, expect=expect, timeout_s=timeout_s)
    return [orjson.loads(r.value or b"null") for r in records]
