"""A tier set by hand is an admin's act, recorded in the tiers service's audit log with who, the
scope and what changed; support may read a member's tier (recorded) but not set it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from loyalty_shared.http.auth import ADMIN_SCOPE, SUPPORT_SCOPE
from tests.support.tokens import bearer

ADMIN = bearer("ops-1", admin=True)
AGENT = bearer("agent-7", scopes=(SUPPORT_SCOPE,))


async def test_a_tier_override_is_in_the_audit_log_with_its_actor(
    tiers_api: httpx.AsyncClient,
) -> None:
    until = datetime.now(UTC) + timedelta(days=90)
    path = "/v1/members/m-o1/tier"
    body = {"tier": "gold", "reason": "status match", "expires_at": until.isoformat()}
    assert (await tiers_api.put(path, json=body, headers=AGENT)).status_code == 403
    assert (await tiers_api.get(path, headers=bearer("m-o1"))).status_code == 200

    assert (await tiers_api.put(path, json=body, headers=ADMIN)).status_code == 200
    assert (await tiers_api.get(f"{path}/history", headers=AGENT)).status_code == 200

    response = await tiers_api.get("/v1/audit-log", params={"member_id": "m-o1"}, headers=ADMIN)
    entries: list[dict[str, Any]] = response.json()["items"]
    assert [(e["actor"], e["scope"], e["action"]) for e in entries] == [
        ("agent-7", SUPPORT_SCOPE, "member.read"),
        ("ops-1", ADMIN_SCOPE, "tier.override"),
    ]
    assert entries[1]["details"] == {
        "from_tier": "bronze",
        "tier": "gold",
        "until": until.isoformat(),
    }
