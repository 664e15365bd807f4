"""Every service's API as its OpenAPI document describes it (docs/openapi/<service>.json, which a
platform test keeps equal to what the app serves), fuzzed by schemathesis: valid requests and
requests that break the schema, on random members and on the caller's own, each sent by one of
six callers (the member, an admin, no token, an expired one, a forged one, another member) to the
real service (ASGI in-process, its real PostgreSQL and broker).

What must hold for every request:
- no 5xx;
- the answer is documented: its status code, content type and body are in the document;
- a request that breaks the schema is refused (4xx);
- a caller without a valid token gets 401 wherever a token is asked for, whatever else is wrong
  with the request (except a body that is not JSON at all: FastAPI parses it before any
  dependency runs), another member never gets in;
- a refused request changes nothing: not one row of the service's database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    CheckFunction,
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation

from tests.fuzz.budget import EXAMPLES, fuzz_settings
from tests.security.conftest import SERVICES, RunningService
from tests.security.endpoints import ADMIN, MEMBER, OTHER_MEMBER
from tests.security.test_injection import KEPT_ON_PURPOSE
from tests.support.tokens import token

DOCS = Path(__file__).parents[2] / "docs" / "openapi"
DOCUMENTS: dict[str, dict[str, Any]] = {
    name: json.loads((DOCS / f"{name}.json").read_text()) for name in SERVICES
}

#: (service, METHOD, path template) of every operation that asks for a bearer token.
GUARDED = {
    (name, method.upper(), path)
    for name, document in DOCUMENTS.items()
    for path, operations in document["paths"].items()
    for method, operation in operations.items()
    if operation.get("security")
}


def _without_security(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its bearer scheme left out: the test sends each caller's token itself,
    so schemathesis must not count a request without its token as one that breaks the schema."""
    document = copy.deepcopy(document)
    document.get("components", {}).pop("securitySchemes", None)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return document


SCHEMAS = {
    name: schemathesis.openapi.from_dict(_without_security(document))
    for name, document in DOCUMENTS.items()
}

#: On a random member, on the member whose token it is, and breaking the schema.
CASES = {
    name: st.one_of(
        schema.as_strategy(),
        schema.as_strategy(path_parameters={"member_id": MEMBER}),
        schema.as_strategy(GenerationMode.NEGATIVE),
        schema.as_strategy(GenerationMode.NEGATIVE, path_parameters={"member_id": MEMBER}),
    )
    for name, schema in SCHEMAS.items()
}

CALLERS: dict[str, Callable[[], str | None]] = {
    "the member": lambda: token(MEMBER),
    "admin": lambda: token(ADMIN, admin=True),
    "no token": lambda: None,
    "expired": lambda: token(ADMIN, admin=True, expires_in=-3600),
    "forged": lambda: token(ADMIN, admin=True, secret="not-our-secret-" * 4),
    "another member": lambda: token(OTHER_MEMBER),
}
NO_VALID_TOKEN = {"no token", "expired", "forged"}
#: A body that is not JSON (or not UTF-8), a path member id the contract does not allow.
SHAPE_REFUSED = (400, 422)

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def status_of(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text[:300]}"


def _breaks_the_schema(case: Case[Any]) -> bool:
    """A negative case that must be refused: anything but unknown query parameters or headers,
    which every service ignores (a tolerant reader, as with unknown fields in events)."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.NEGATIVE:
        return False
    mutations = getattr(case.meta.phase.data, "mutations", None)
    if not mutations:
        return True
    return any(
        m.keywords != ("additionalProperties",)
        or m.parameter_location not in (ParameterLocation.QUERY, ParameterLocation.HEADER)
        for m in mutations
    )


def _request(case: Case[Any], bearer: str | None) -> dict[str, Any]:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    kwargs = case.as_transport_kwargs(base_url="http://service", headers=headers)
    kwargs.pop("cookies", None)  # schemathesis generates none here (no cookie parameters)
    if "data" in kwargs:  # a body that is not JSON: raw bytes
        kwargs["content"] = kwargs.pop("data")
    return kwargs


def _not_json(request: dict[str, Any]) -> bool:
    if "content" not in request:
        return False
    try:
        json.loads(request["content"])
    except ValueError:
        return True
    return False


@pytest.mark.parametrize("name", SERVICES)
@fuzz_settings(EXAMPLES.http)
@given(data=st.data())
async def test_any_request_from_any_caller_gets_a_documented_answer_and_a_refusal_changes_nothing(
    name: str,
    running_services: dict[str, RunningService],
    databases: dict[str, asyncpg.Connection],
    data: st.DataObject,
) -> None:
    service, conn = running_services[name], databases[name]
    case = data.draw(CASES[name], label="case")
    caller = data.draw(st.sampled_from(list(CALLERS)), label="caller")

    before = await service.fingerprint(conn)
    request = _request(case, CALLERS[caller]())
    response = await service.api.request(**request)
    shown = f"{caller}: {request} -> {status_of(response)}"
    checks = [*CHECKS, negative_data_rejection] if _breaks_the_schema(case) else CHECKS
    case.validate_response(response, checks=checks)

    status = response.status_code
    guarded = (name, case.method.upper(), case.path) in GUARDED
    if guarded and caller in NO_VALID_TOKEN:
        # 401, never an answer about the request's shape; only a body that is not JSON at all
        # is refused first (FastAPI parses it before any dependency runs)
        assert status == 401 or (_not_json(request) and status in SHAPE_REFUSED), shown
    if guarded and caller == "another member":
        assert status in (403, *SHAPE_REFUSED), shown
    if status >= 400:
        kept = KEPT_ON_PURPOSE.get(((case.method.upper(), case.path), status), set())
        after = await service.fingerprint(conn)
        changed = sorted(t for t in after if after[t] != before.get(t) and t not in kept)
        assert changed == [], f"{shown} changed {changed}"
