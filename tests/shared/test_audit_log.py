"""The audit log every service keeps (contract 5.1): an entry written with the change it records
commits or rolls back with it, nothing can rewrite history, and `GET /v1/audit-log` lists it
newest first, cursor-paged, by member and by actor, to admins only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from loyalty_devkit.openapi_export import SERVICES, app_builders
from loyalty_shared import audit_log
from loyalty_shared.audit_log.reads import _audited_member_read
from loyalty_shared.http.auth import MARKETING_SCOPE, SUPPORT_SCOPE, Principal
from loyalty_shared.http.db import _read_only, _transaction
from loyalty_shared.runtime import runtime_of
from tests.support.tokens import bearer

ADMIN = bearer("ops-audit", admin=True)
AGENT = Principal("agent-7", frozenset({SUPPORT_SCOPE}), acting_as=SUPPORT_SCOPE)
OTHER_AGENT = Principal("agent-8", frozenset({SUPPORT_SCOPE}), acting_as=SUPPORT_SCOPE)


async def entries(api: httpx.AsyncClient, **query: Any) -> dict[str, Any]:
    response = await api.get("/v1/audit-log", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_entry_is_written_in_the_callers_transaction_and_rolls_back_with_it(
    points_app: FastAPI, points_api: httpx.AsyncClient
) -> None:
    pool: asyncpg.Pool = runtime_of(points_app).pool
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await audit_log.record(conn, principal=AGENT, action="points.adjust", member_id="m-1")
        await transaction.rollback()
        async with conn.transaction():
            await audit_log.record(
                conn,
                principal=AGENT,
                action="points.adjust",
                member_id="m-1",
                details={"points": 40},
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            )

    [entry] = (await entries(points_api))["items"]
    assert entry | {"id": 0, "recorded_at": ""} == {
        "id": 0,
        "recorded_at": "",
        "actor": "agent-7",
        "scope": SUPPORT_SCOPE,
        "action": "points.adjust",
        "member_id": "m-1",
        "details": {"points": 40},
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    }


async def test_the_log_is_paged_newest_first_and_filtered_by_member_and_actor(
    points_app: FastAPI, points_api: httpx.AsyncClient
) -> None:
    pool: asyncpg.Pool = runtime_of(points_app).pool
    for n in range(5):
        await audit_log.record(pool, principal=AGENT, action="member.read", member_id=f"m-{n % 2}")
    await audit_log.record_each(
        pool, principal=OTHER_AGENT, action="feedback.comments.read", member_ids=["m-0", "m-9"]
    )

    first = await entries(points_api, limit=4)
    second = await entries(points_api, limit=4, cursor=first["next_cursor"])
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(ids) == 7
    assert ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None

    by_member = (await entries(points_api, member_id="m-0"))["items"]
    assert [(e["actor"], e["action"]) for e in by_member] == [
        ("agent-8", "feedback.comments.read"),
        *[("agent-7", "member.read")] * 3,
    ]
    by_actor = (await entries(points_api, actor="agent-8"))["items"]
    assert [e["member_id"] for e in by_actor] == ["m-9", "m-0"]
    both = (await entries(points_api, actor="agent-7", member_id="m-1"))["items"]
    assert len(both) == 2


async def test_the_log_cannot_be_rewritten_or_deleted(points_app: FastAPI) -> None:
    pool: asyncpg.Pool = runtime_of(points_app).pool
    await audit_log.record(pool, principal=AGENT, action="points.adjust", member_id="m-1")

    for statement in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await pool.execute(statement)
    assert await pool.fetchval("SELECT actor FROM audit_log") == "agent-7"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no token"),
        pytest.param(bearer("m-1"), 403, id="a member"),
        pytest.param(bearer("agent-7", scopes=(SUPPORT_SCOPE,)), 403, id="support"),
        pytest.param(bearer("analyst-1", scopes=(MARKETING_SCOPE,)), 403, id="marketing"),
    ],
)
async def test_only_an_admin_reads_the_log(
    points_api: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    assert (await points_api.get("/v1/audit-log", headers=headers)).status_code == status


@pytest.mark.parametrize("query", [{"cursor": "x"}, {"member_id": " m-1"}, {"limit": "0"}])
async def test_a_bad_filter_or_cursor_is_a_problem_not_an_error(
    points_api: httpx.AsyncClient, query: dict[str, str]
) -> None:
    response = await points_api.get("/v1/audit-log", params=query, headers=ADMIN)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def _connections_after_the_audited_read(dependant: Dependant) -> Iterator[str]:
    """Why an endpoint's read could hold its connection while it records itself, if it could."""
    calls = [d.call for d in dependant.dependencies]
    if _audited_member_read not in calls:
        return
    audited = calls.index(_audited_member_read)
    for n, dependency in enumerate(dependant.dependencies):
        if dependency.call not in (_read_only, _transaction):
            continue
        if n < audited:
            yield "its connection comes before AuditedMemberRead"
        if dependency.scope != "function":
            yield "its connection is kept until the answer is sent"


@pytest.mark.parametrize("service", SERVICES)
def test_an_audited_read_gives_its_connection_back_before_it_records_itself(service: str) -> None:
    """Recorded after the endpoint with a connection of its own: the read's connection must be
    back in the pool first, or as many operator reads as connections wait for ever."""
    app = app_builders()[service]()
    routes = [c.original_route for c in iter_route_contexts(app.routes)]
    audited = [r for r in routes if isinstance(r, APIRoute) and "member_id" in r.path]
    wrong = [
        f"{route.path}: {why}"
        for route in audited
        for why in _connections_after_the_audited_read(route.dependant)
    ]
    assert audited
    assert wrong == []
