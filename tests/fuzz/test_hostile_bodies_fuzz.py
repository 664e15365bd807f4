"""Hostile request bodies at every endpoint that takes one (read from the service's OpenAPI), sent
by an admin so that only the body decides: a valid body with fields dropped or retyped (numbers
as text, text as numbers, NUL characters, huge strings, many items), bytes that are not UTF-8 or
hold a NUL, JSON nested deeper than any parser should follow, and JSON that is no object at all.

Each is answered with a clear 4xx problem document (or accepted when the change left it valid),
never a 5xx, and a refused one changes nothing. A body over the size limit is
tests/security/test_body_limits.py's.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import EXAMPLES, fuzz_settings
from tests.fuzz.hostile_events import broken_bytes, deep, encode, mutated
from tests.security.conftest import SERVICES, RunningService
from tests.security.endpoints import ADMIN, Endpoint, endpoints_of
from tests.security.test_injection import KEPT_ON_PURPOSE
from tests.support.tokens import bearer

#: Under the 64 KiB limit, deep enough for any recursive parser: 20,000 levels.
DEEPEST = 20_000


def _bodies(endpoint: Endpoint) -> st.SearchStrategy[bytes]:
    valid = endpoint.body()
    return st.one_of(
        mutated(valid).map(encode),
        broken_bytes(encode(valid)),
        st.sampled_from([1_100, DEEPEST]).map(deep),
        st.sampled_from([200, DEEPEST]).map(lambda n: ('{"a":' * n + "1" + "}" * n).encode()),
        st.sampled_from([b"", b"null", b"[]", b"1e999999", b'"\\u0000"', b"\xef\xbb\xbf{}"]),
    )


@pytest.mark.parametrize("name", SERVICES)
@fuzz_settings(EXAMPLES.bodies)
@given(data=st.data())
async def test_a_hostile_body_gets_a_clear_4xx_or_is_valid_and_a_refused_one_changes_nothing(
    name: str,
    running_services: dict[str, RunningService],
    databases: dict[str, asyncpg.Connection],
    data: st.DataObject,
) -> None:
    service, conn = running_services[name], databases[name]
    with_body = [e for e in endpoints_of(service.app) if e.body_schema is not None]
    endpoint = data.draw(st.sampled_from(with_body), label="endpoint")
    body = data.draw(_bodies(endpoint), label="body")

    before = await service.fingerprint(conn)
    response = await service.api.request(
        endpoint.method,
        endpoint.url(),
        content=body,
        headers={
            **endpoint.headers(),
            **bearer(ADMIN, admin=True),
            "Content-Type": "application/json",
        },
    )
    shown = f"{endpoint} {body[:200]!r} -> {response.status_code} {response.text[:300]}"

    assert response.status_code < 500, shown
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", shown
        problem: dict[str, Any] = json.loads(response.text)
        assert problem["status"] == response.status_code, shown
        assert problem.get("detail"), f"a refusal says why: {shown}"
        kept = KEPT_ON_PURPOSE.get(((endpoint.method, endpoint.path), response.status_code), set())
        after = await service.fingerprint(conn)
        changed = sorted(t for t in after if after[t] != before.get(t) and t not in kept)
        assert changed == [], f"{shown} changed {changed}"
