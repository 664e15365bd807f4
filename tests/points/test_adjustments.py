"""Adjustments by operators (contract 5.1): support grants or takes at most the program's
`support_adjustment_limit` per call (a larger one is 403 and changes nothing), an admin any
amount; every adjustment, and every other operator action on a member's points, is in the audit
log with who, the scope and the request's trace, written in the adjustment's own transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.http.auth import ADMIN_SCOPE, SUPPORT_SCOPE
from loyalty_shared.program.loader import default_program_path
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.support.apps import serving
from tests.support.tokens import bearer

MEMBER = "m-7001"
ADMIN = bearer("ops-1", admin=True)
AGENT = bearer("agent-7", scopes=(SUPPORT_SCOPE,))
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PATH = f"/v1/members/{MEMBER}/adjustments"


async def adjust(
    api: httpx.AsyncClient, points: int, headers: dict[str, str], **more: str
) -> httpx.Response:
    return await api.post(
        PATH,
        json={"points": points, "reason": "goodwill after a complaint"},
        headers={**headers, **more},
    )


async def audit_log(api: httpx.AsyncClient, **query: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/audit-log", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_support_adjusts_within_the_limit_and_the_audit_log_says_who_and_in_which_trace(
    points_api: httpx.AsyncClient,
) -> None:
    granted = await adjust(
        points_api, 5000, AGENT, traceparent=f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    )
    taken = await adjust(points_api, -5000, AGENT)

    assert granted.status_code == taken.status_code == 201, granted.text
    assert granted.json()["actor"] == "support:agent-7"
    assert (await balance_of(points_api, MEMBER))["available"] == 0
    [take, grant] = await audit_log(points_api, member_id=MEMBER)
    assert {k: grant[k] for k in ("actor", "scope", "action", "member_id", "trace_id")} == {
        "actor": "agent-7",
        "scope": SUPPORT_SCOPE,
        "action": "points.adjust",
        "member_id": MEMBER,
        "trace_id": TRACE_ID,
    }
    assert grant["details"] == {"points": 5000, "entry_id": granted.json()["id"]}
    assert take["details"]["points"] == -5000
    assert take["trace_id"] is None, "a request outside any trace has none"


@pytest.mark.parametrize("points", [5001, -5001])
async def test_an_adjustment_beyond_the_support_limit_is_refused_and_changes_nothing(
    points_app: FastAPI, points_api: httpx.AsyncClient, points: int
) -> None:
    refused = await adjust(points_api, points, AGENT)

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:loyalty:problem:over-support-limit"
    assert "5000" in refused.json()["detail"]
    pool: asyncpg.Pool = runtime_of(points_app).pool
    for table in ("ledger_entry", "points_lot", "points_account", "outbox", "audit_log"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_an_admin_adjusts_beyond_the_support_limit(points_api: httpx.AsyncClient) -> None:
    granted = await adjust(points_api, 50_000, ADMIN)

    assert granted.status_code == 201
    assert granted.json()["actor"] == "admin:ops-1"
    [entry] = await audit_log(points_api, actor="ops-1")
    assert (entry["scope"], entry["details"]["points"]) == (ADMIN_SCOPE, 50_000)


async def test_the_support_limit_is_the_programs(
    points_settings: PointsSettings, tmp_path: Path
) -> None:
    program = tmp_path / "program.toml"
    program.write_text(
        default_program_path()
        .read_text(encoding="utf-8")
        .replace("support_adjustment_limit = 5000", "support_adjustment_limit = 100"),
        encoding="utf-8",
    )
    settings = points_settings.model_copy(update={"program_file": program})
    async with serving(create_app(settings)) as api:
        assert (await adjust(api, 100, AGENT)).status_code == 201
        assert (await adjust(api, 101, AGENT)).status_code == 403


async def test_an_adjustment_that_fails_to_commit_leaves_no_audit_entry(
    points_app: FastAPI,
) -> None:
    """The entry is written in the adjustment's transaction: when that transaction fails at its
    very end (here a check deferred to commit refuses the ledger entry), neither stays."""
    pool: asyncpg.Pool = runtime_of(points_app).pool
    await pool.execute(
        """
        CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
        CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON ledger_entry
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse();
        """
    )

    transport = httpx.ASGITransport(app=points_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://points") as api:
        failed = await adjust(api, 40, AGENT)

    assert failed.status_code == 500, "answered as the failure it is, not with the 201"

    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 0
    assert await pool.fetchval("SELECT count(*) FROM ledger_entry") == 0


async def test_operator_actions_on_a_members_points_are_recorded_and_the_members_own_are_not(
    points_api: httpx.AsyncClient,
) -> None:
    await adjust(points_api, 300, ADMIN)
    redeemed = await points_api.post(
        f"/v1/members/{MEMBER}/redemptions",
        json={"points": 100},
        headers={**bearer(MEMBER), "Idempotency-Key": "k-1"},
    )
    for_the_member = await points_api.post(
        f"/v1/members/{MEMBER}/redemptions",
        json={"points": 50},
        headers={**ADMIN, "Idempotency-Key": "k-2"},
    )
    redemption_id = redeemed.json()["id"]
    cancelled = await points_api.post(
        f"/v1/members/{MEMBER}/redemptions/{redemption_id}/cancellation", headers=ADMIN
    )
    assert redeemed.status_code == for_the_member.status_code == 201
    assert cancelled.status_code == 200
    # reads: the member's own is not recorded, support's is
    assert (await balance_of(points_api, MEMBER))["available"] == 250
    read = await points_api.get(f"/v1/members/{MEMBER}/points/transactions", headers=AGENT)
    assert read.status_code == 200

    entries = await audit_log(points_api, member_id=MEMBER)

    assert [(e["actor"], e["action"], e["details"]) for e in entries] == [
        (
            "agent-7",
            "member.read",
            {"route": "GET /v1/members/{member_id}/points/transactions"},
        ),
        (
            "ops-1",
            "points.redemption_cancel",
            {"redemption_id": redemption_id, "points": 100},
        ),
        (
            "ops-1",
            "points.redeem",
            {"redemption_id": for_the_member.json()["id"], "points": 50},
        ),
        ("ops-1", "points.adjust", {"points": 300, "entry_id": entries[-1]["details"]["entry_id"]}),
    ]
