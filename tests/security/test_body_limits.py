"""Request bodies are bounded: a 1 MB body is refused with 413 by every endpoint of every service
before it does anything, whether the size is declared (Content-Length) or streamed (chunked);
bodies of a normal size still get through; the limit is a setting
(`LOYALTY_HTTP_MAX_BODY_BYTES`, 64 KiB by default)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import orjson

from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.runtime import runtime_of
from tests.security.conftest import RunningService
from tests.security.endpoints import ADMIN, endpoints_of
from tests.support.apps import serving
from tests.support.tokens import bearer

ONE_MB = 1024 * 1024 + 1


def _too_big() -> bytes:
    """Valid JSON, just large: a comment of a million characters."""
    return orjson.dumps({"points": 1, "reason": "x" * ONE_MB, "comment": "x" * ONE_MB})


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


async def test_a_1_mb_body_is_refused_with_413_by_every_endpoint_and_changes_nothing(
    service: RunningService,
) -> None:
    big = _too_big()
    conn = await asyncpg.connect(service.dsn)
    try:
        before = await service.fingerprint(conn)
        last_entry = await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
        wrong = []
        for endpoint in endpoints_of(service.app):
            headers = {
                **endpoint.headers(),
                **bearer(ADMIN, admin=True),
                "Content-Type": "application/json",
            }
            declared = await service.api.request(
                endpoint.method, endpoint.url(), content=big, headers=headers
            )
            streamed = await service.api.request(
                endpoint.method, endpoint.url(), content=_chunked(big), headers=headers
            )
            if declared.status_code != 413:
                wrong.append(f"{endpoint} with Content-Length: {declared.status_code}")
            else:
                assert declared.headers["content-type"] == "application/problem+json"
                assert declared.json()["status"] == 413
            # a route that never reads its body (GET) may answer before the limit is reached
            if endpoint.body_schema is not None and streamed.status_code != 413:
                wrong.append(f"{endpoint} chunked: {streamed.status_code}")
        assert wrong == [], "\n".join(wrong)
        after = await service.fingerprint(conn)
        # the GETs answered are an admin's reads and exports, which the audit log records:
        # nothing else
        assert {table for table in after if after[table] != before[table]} <= {"audit_log"}
        assert (
            await conn.fetch(
                """
                SELECT * FROM audit_log
                WHERE id > $1 AND action NOT IN ('member.read', 'member.export')
                """,
                last_entry,
            )
            == []
        )
    finally:
        await conn.close()


async def test_a_body_of_normal_size_is_not_refused(
    running_services: dict[str, RunningService],
) -> None:
    response = await running_services["points"].api.post(
        "/v1/members/m-1001/adjustments",
        json={"points": 5, "reason": "goodwill " + "x" * 400},
        headers=bearer(ADMIN, admin=True),
    )
    assert response.status_code == 201, response.text


async def test_the_limit_is_a_setting(running_services: dict[str, RunningService]) -> None:
    points = running_services["points"]
    default = PointsSettings(points_database_url="postgresql://x/y", jwt_secret="s" * 32)
    assert default.http_max_body_bytes == 64 * 1024
    admin = bearer(ADMIN, admin=True)
    path = "/v1/members/m-1001/adjustments"
    # 2 KB: read and judged by the default limit (too long a reason), refused unread at 1 KiB
    body = {"points": 5, "reason": "r" * 2000}
    assert (await points.api.post(path, json=body, headers=admin)).status_code == 422

    settings = runtime_of(points.app).settings.model_copy(update={"http_max_body_bytes": 1024})
    assert isinstance(settings, PointsSettings)
    async with serving(create_app(settings)) as api:
        assert (await api.post(path, json=body, headers=admin)).status_code == 413
        small = {"points": 5, "reason": "r" * 400}
        assert (await api.post(path, json=small, headers=admin)).status_code == 201
