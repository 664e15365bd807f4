"""The balance, the app's most frequent read, is answered before FastAPI when nothing about the
request is unusual (loyalty_shared.http.hot_reads): the answer must be exactly the route's, and
every unusual request must still get the route's answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from loyalty_shared.http.auth import Principal
from loyalty_shared.http.db import _pool as db_pool
from loyalty_shared.http.hot_reads import HotRead, HotReads
from loyalty_shared.http.state import attach_state
from loyalty_shared.runtime import Runtime, runtime_of
from tests.support.tokens import bearer

PATH = "/v1/members/m-hot/points"
# An unknown query parameter is ignored by the route but takes the request past the hot path.
FULL_ROUTE = f"{PATH}?via=route"


@pytest.fixture
async def member_with_points(points_app: FastAPI) -> None:
    await runtime_of(points_app).pool.execute(
        """
        INSERT INTO points_account (member_id, available, pending, lifetime_earned, held)
        VALUES ('m-hot', 1200, 300, 1800, 100);
        INSERT INTO points_lot (member_id, points, remaining, status, available_at, expires_at,
                                earned_at)
        SELECT 'm-hot', 400, 400, 'available', now(), now() + make_interval(days => d), now()
        FROM generate_series(100, 300, 100) AS d;
        """
    )


@pytest.mark.usefixtures("member_with_points")
@pytest.mark.parametrize("caller", ["m-hot", "ops-1"], ids=["the member", "an admin"])
async def test_a_balance_read_is_the_same_document_whichever_way_it_is_answered(
    points_api: httpx.AsyncClient, caller: str
) -> None:
    headers = bearer(caller, admin=caller.startswith("ops"))

    hot = await points_api.get(PATH, headers=headers)
    full = await points_api.get(FULL_ROUTE, headers=headers)

    assert hot.status_code == full.status_code == 200
    assert hot.content == full.content
    assert hot.headers["content-type"] == full.headers["content-type"] == "application/json"
    assert hot.json()["available"] == 1200
    assert len(hot.json()["expiring"]) == 3


async def test_a_member_never_seen_reads_zeros_on_both_paths(
    points_api: httpx.AsyncClient,
) -> None:
    hot = await points_api.get("/v1/members/m-new/points", headers=bearer("m-new"))
    full = await points_api.get("/v1/members/m-new/points?x=1", headers=bearer("m-new"))

    assert hot.content == full.content
    assert hot.json() == {
        "member_id": "m-new",
        "available": 0,
        "held": 0,
        "pending": 0,
        "lifetime_earned": 0,
        "expiring": [],
    }


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        pytest.param(PATH, {}, 401, id="no token"),
        pytest.param(PATH, {"Authorization": "Basic abc"}, 401, id="another scheme"),
        pytest.param(PATH, bearer("m-other"), 403, id="another member"),
        pytest.param(f"/v1/members/{'m' * 129}/points", bearer("m" * 129), 422, id="long id"),
        pytest.param("/v1/members/%20m-hot/points", bearer(" m-hot"), 422, id="padded id"),
        pytest.param(f"{PATH}?as_of=not-a-time", bearer("m-hot"), 422, id="bad as_of"),
        pytest.param(PATH, {**bearer("m-hot"), "Content-Length": "1048576"}, 413, id="a 1 MB body"),
    ],
)
async def test_unusual_balance_reads_get_the_routes_problem_document(
    points_api: httpx.AsyncClient, path: str, headers: dict[str, str], status: int
) -> None:
    response = await points_api.get(path, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.usefixtures("member_with_points")
async def test_an_ordinary_read_never_reaches_the_route(
    points_app: FastAPI, points_api: httpx.AsyncClient
) -> None:
    """With the route unable to answer, an ordinary read is still answered: by the hot path."""

    async def route_unable() -> None:
        raise HTTPException(status_code=418)

    points_app.dependency_overrides[db_pool] = route_unable
    try:
        ordinary = await points_api.get(PATH, headers=bearer("m-hot"))
        unusual = await points_api.get(FULL_ROUTE, headers=bearer("m-hot"))
    finally:
        points_app.dependency_overrides.clear()

    assert ordinary.status_code == 200
    assert ordinary.json()["available"] == 1200
    assert unusual.status_code == 418


@pytest.mark.usefixtures("member_with_points")
async def test_hot_reads_are_counted_by_route_template(points_api: httpx.AsyncClient) -> None:
    labels = {
        "service": "points",
        "method": "GET",
        "route": "/v1/members/{member_id}/points",
        "status": "200",
    }
    before = REGISTRY.get_sample_value("loyalty_http_requests_total", labels) or 0

    await points_api.get(PATH, headers=bearer("m-hot"))

    assert REGISTRY.get_sample_value("loyalty_http_requests_total", labels) == before + 1


async def test_an_ordinary_read_is_answered_before_the_app() -> None:
    async def answer(pool: object, member_id: str) -> bytes:
        return b'{"member_id":"%s"}' % member_id.encode()

    sent, answered_by_app = await _hot_read(answer, PATH)

    assert answered_by_app == []
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"member_id":"m-hot"}'


async def test_the_database_away_is_the_apps_503_without_asking_it_twice() -> None:
    async def database_away(pool: object, member_id: str) -> bytes:
        raise ConnectionRefusedError("database away")

    sent, answered_by_app = await _hot_read(database_away, PATH)

    assert answered_by_app == []
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"5") in sent[0]["headers"]
    assert b'"urn:loyalty:problem:unavailable"' in sent[1]["body"]


async def test_any_other_failure_is_handed_to_the_route_to_answer() -> None:
    async def bug(pool: object, member_id: str) -> bytes:
        raise KeyError("available")

    sent, answered_by_app = await _hot_read(bug, PATH)

    assert answered_by_app == [PATH]
    assert sent[0]["status"] == 503  # what the stand-in app answers


async def _hot_read(
    answer: Callable[[object, str], Awaitable[bytes]], path: str
) -> tuple[list[Message], list[str]]:
    """A GET through `HotReads` alone, with a token that passes; an app behind it that answers
    503 to whatever reaches it."""
    answered_by_app: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        answered_by_app.append(scope["path"])
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    class AcceptingVerifier:
        async def verify(self, token: str) -> Principal:
            return Principal(subject="m-hot", scopes=frozenset())

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    # what HotReads reads of the running service: its token verifier and its pool
    service = Starlette()
    unused: Any = None
    attach_state(
        service,
        Runtime(
            settings=unused,
            tokens=cast(Any, AcceptingVerifier()),
            pool=cast(Any, object()),
            producer=unused,
            relay=unused,
            consumer=None,
            loops={},
        ),
    )
    hot = HotReads(app, reads=[HotRead("/v1/members/{member_id}/points", answer)])
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer t")],
        "app": service,
    }
    await hot(scope, receive, send)
    return sent, answered_by_app
