"""The local gateway `loyalty run` starts on :8000: each path to its service over HTTP, the
caller's token, Idempotency-Key and body passed on, the answer passed back unchanged, and
problem+json for what no service owns, an operators' path on the public host, a client over its
rate limit or a service that is down."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from loyalty_devkit.gateway.app import create_app
from loyalty_devkit.gateway.routes import INTERNAL_HOST, SERVICES, RateLimit
from loyalty_devkit.local_broker import free_port
from loyalty_points.app import create_app as points_app
from loyalty_points.settings import PointsSettings
from loyalty_tiers.app import create_app as tiers_app
from loyalty_tiers.settings import TiersSettings
from tests.support.apps import client_of, running, served
from tests.support.tokens import bearer

MEMBER = "m-7001"
ADMIN = bearer("ops-1", admin=True)
PROBLEM = "application/problem+json"


@asynccontextmanager
async def gateway(upstreams: Mapping[str, str], **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app in front of `upstreams`; the other services are down (a closed port)."""
    down = f"http://127.0.0.1:{free_port()}"
    app = create_app({name: upstreams.get(name, down) for name in SERVICES}, **options)
    async with running(app), client_of(app) as client:
        yield client


async def test_reads_and_idempotent_writes_reach_the_owning_service(
    points_settings: PointsSettings, tiers_settings: TiersSettings
) -> None:
    async with (
        served(points_app(points_settings)) as points,
        served(tiers_app(tiers_settings)) as tiers,
        gateway({"points": points, "tiers": tiers}, operator_paths=True) as api,
        httpx.AsyncClient() as direct,
    ):
        granted = await api.post(
            f"/v1/members/{MEMBER}/adjustments",
            json={"points": 100, "reason": "welcome bonus"},
            headers=ADMIN,
        )
        assert granted.status_code == 201, granted.text

        spend = {**bearer(MEMBER), "Idempotency-Key": str(uuid.uuid4())}
        path = f"/v1/members/{MEMBER}/redemptions"
        first = await api.post(path, json={"points": 30}, headers=spend)
        again = await api.post(path, json={"points": 30}, headers=spend)
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json(), "the same key: the same answer, spent once"
        no_key = await api.post(path, json={"points": 30}, headers=bearer(MEMBER))
        assert no_key.status_code == 400
        assert no_key.headers["content-type"] == PROBLEM

        balance = f"/v1/members/{MEMBER}/points"
        via = await api.get(balance, headers=bearer(MEMBER))
        assert via.status_code == 200
        assert via.json()["available"] == 70
        assert via.json() == (await direct.get(points + balance, headers=bearer(MEMBER))).json()
        assert (await api.get(balance, headers=bearer("m-7002"))).status_code == 403
        assert (await api.get(balance)).status_code == 401

        history = f"/v1/members/{MEMBER}/points/transactions"
        page = await api.get(history, params={"limit": 1}, headers=bearer(MEMBER))
        assert len(page.json()["items"]) == 1, "the query string is passed on"

        tier = f"/v1/members/{MEMBER}/tier"
        via = await api.get(tier, headers=bearer(MEMBER))
        straight = await direct.get(tiers + tier, headers=bearer(MEMBER))
        assert (via.status_code, via.json()) == (straight.status_code, straight.json())
        assert via.headers["content-type"] == straight.headers["content-type"]

        export = f"/v1/members/{MEMBER}/export"
        via = await api.get(f"/tiers{export}", headers=bearer(MEMBER))
        straight = await direct.get(tiers + export, headers=bearer(MEMBER))
        assert via.status_code == straight.status_code == 200
        assert {**via.json(), "exported_at": None} == {**straight.json(), "exported_at": None}


async def test_a_path_no_service_owns_is_a_404_problem() -> None:
    async with gateway({}, operator_paths=True) as api:
        assert (await api.get("/healthz")).json() == {"status": "ok"}
        for path in ("/v1/nothing-here", "/v1/dead-letters", "/points/metrics", "/metrics"):
            response = await api.get(path, headers=ADMIN)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == PROBLEM
            assert response.json()["instance"] == path


async def test_an_operators_path_on_the_public_host_is_a_404_that_names_the_internal_host(
    points_settings: PointsSettings, tiers_settings: TiersSettings
) -> None:
    async with (
        served(points_app(points_settings)) as points,
        served(tiers_app(tiers_settings)) as tiers,
        gateway({"points": points, "tiers": tiers}) as api,
    ):
        refused = [
            ("POST", f"/v1/members/{MEMBER}/adjustments"),
            ("PUT", f"/v1/members/{MEMBER}/tier"),
            ("GET", "/v1/reports/liability"),
            ("GET", "/points/v1/audit-log"),
        ]
        for method, path in refused:
            response = await api.request(method, path, headers=ADMIN, json={})
            assert response.status_code == 404, path
            assert response.headers["content-type"] == PROBLEM
            assert INTERNAL_HOST in response.json()["detail"]
        tier = await api.get(f"/v1/members/{MEMBER}/tier", headers=bearer(MEMBER))
        assert tier.status_code == 200, "the member's read of the same path is public"


async def test_a_client_past_a_rate_limit_is_answered_429_with_retry_after_until_the_window_passes(
    points_settings: PointsSettings,
) -> None:
    writes = RateLimit("writes", 2, "Hour", methods=("POST",))
    async with (
        served(points_app(points_settings)) as points,
        gateway({"points": points}, rate_limits=[writes]) as api,
    ):
        path = f"/v1/members/{MEMBER}/holds"
        answers = [
            await api.post(
                path,
                json={"points": 1},
                headers={**bearer(MEMBER), "Idempotency-Key": str(uuid.uuid4())},
            )
            for _ in range(3)
        ]
        assert all(a.status_code != 429 for a in answers[:2]), "the first two go through"
        refused = answers[2]
        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert refused.json()["type"] == "urn:loyalty:problem:rate-limited"
        read = await api.get(f"/v1/members/{MEMBER}/points", headers=bearer(MEMBER))
        assert read.status_code == 200, "reads are not under the writes' limit"


async def test_a_service_that_is_down_is_a_503_problem() -> None:
    async with gateway({}) as api:
        response = await api.get(f"/v1/members/{MEMBER}/preferences", headers=bearer(MEMBER))
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 503
    assert "notifications" in problem["detail"]
