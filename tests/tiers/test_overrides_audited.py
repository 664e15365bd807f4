"""A tier set by hand is an admin's act, recorded in the tiers service's audit log with who, the
scope and what changed; support may read a member's tier (recorded) but not set it, and many such
reads at once all get their answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from loyalty_shared.http.auth import ADMIN_SCOPE, SUPPORT_SCOPE
from loyalty_tiers.app import create_app
from loyalty_tiers.settings import TiersSettings
from tests.support.apps import client_of, running
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


async def test_operator_reads_many_at_once_never_wait_for_a_connection_for_ever(
    tiers_settings: TiersSettings,
) -> None:
    """Each operator read records itself: with the record written while the read still held its
    connection, reads as many as the pool's connections each waited for one more, for ever."""
    app = create_app(tiers_settings.model_copy(update={"db_pool_min": 0, "db_pool_max": 2}))
    async with running(app), client_of(app) as api:
        reads = [api.get(f"/v1/members/m-o{n}/tier", headers=AGENT) for n in range(12)]
        answers = await asyncio.wait_for(asyncio.gather(*reads), timeout=60)
    assert [a.status_code for a in answers] == [200] * 12
