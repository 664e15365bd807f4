"""The OpenAPI documents, the services' and the gateway's, are fit to generate clients from (no
broker, no database): short unique operation ids, one `Problem` component, the 503 of a database
away, scopes, required headers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from loyalty_devkit.openapi_export import SERVICES, openapi_documents

DOCUMENTS: dict[str, dict[str, Any]] = {
    filename.removesuffix(".json"): json.loads(text)
    for filename, text in openapi_documents().items()
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}
#: What needs no token and reaches no database.
PROBES = {"/healthz", "/readyz", "/metrics"}
#: The services' documents and the gateway's (their routed operations merged into one)
NAMES = [*SERVICES, "gateway", "gateway-internal"]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


@pytest.mark.parametrize("service", NAMES)
def test_operation_ids_are_short_camel_case_and_unique(service: str) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(DOCUMENTS[service])]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    long_or_odd = [i for i in ids if not re.fullmatch(r"[a-z][a-zA-Z0-9]{2,31}", i)]
    assert long_or_odd == []


def test_operation_ids_are_derived_from_the_route_functions() -> None:
    ids = {(m, p): o["operationId"] for m, p, o in operations(DOCUMENTS["points"])}
    assert ids["GET", "/v1/members/{member_id}/points"] == "getPoints"
    assert ids["POST", "/v1/members/{member_id}/redemptions"] == "createRedemption"
    assert ids["GET", "/v1/dead-letters/{dead_letter_id}"] == "getDeadLetter"


@pytest.mark.parametrize("service", NAMES)
def test_every_problem_response_refers_to_the_one_problem_component(service: str) -> None:
    document = DOCUMENTS[service]
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"title", "status"}
    wrong = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            wanted = {"application/problem+json": {"schema": PROBLEM}}
            if int(status) >= 400 and path not in PROBES and content != wanted:
                wrong.append(f"{method} {path} {status}: {content}")
    assert wrong == []
    text = json.dumps(document)
    assert '"title": "Problem"' not in text.replace(json.dumps(problem), "")


@pytest.mark.parametrize("service", NAMES)
def test_every_operation_that_reaches_the_database_documents_its_503(service: str) -> None:
    missing = [
        f"{method} {path}"
        for method, path, operation in operations(DOCUMENTS[service])
        if path not in PROBES and "503" not in operation["responses"]
    ]
    assert missing == []
    redeem = DOCUMENTS["points"]["paths"]["/v1/members/{member_id}/redemptions"]["post"]
    assert "Retry-After" in redeem["responses"]["503"]["headers"]


def test_the_backtest_documents_its_429() -> None:
    backtest = DOCUMENTS["points"]["paths"]["/v1/program/backtest"]["post"]
    assert backtest["responses"]["429"]["content"]["application/problem+json"]["schema"] == PROBLEM


@pytest.mark.parametrize("service", NAMES)
def test_the_bearer_scheme_is_a_jwt_and_operations_name_their_scopes(service: str) -> None:
    document = DOCUMENTS[service]
    scheme = document["components"]["securitySchemes"]["HTTPBearer"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    scopes = {
        scope
        for _, _, operation in operations(document)
        for requirement in operation.get("security", ())
        for scope in requirement["HTTPBearer"]
    }
    if service == "gateway":
        assert scopes == set(), "the public host serves what a member's own token may call"
    else:
        assert "loyalty:admin" in scopes
    assert scopes <= {"loyalty:admin", "loyalty:support", "loyalty:marketing", "loyalty:finance"}


def test_idempotency_key_is_required_where_a_spend_refuses_to_go_without_it() -> None:
    paths = DOCUMENTS["points"]["paths"]
    spends = [
        paths["/v1/members/{member_id}/redemptions"]["post"],
        paths["/v1/members/{member_id}/holds"]["post"],
        paths["/v1/members/{member_id}/reward-redemptions"]["post"],
    ]
    for operation in spends:
        [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["in"] == "header"
        assert key["required"] is True
        assert key["schema"]["type"] == "string"
        assert "anyOf" not in key["schema"]
        assert "x-loyalty-required" not in json.dumps(key)


@pytest.mark.parametrize("service", NAMES)
def test_no_two_schemas_share_a_title(service: str) -> None:
    """A generator makes one class per title: `Program-Input` and `Program-Output` under one
    title were both left out of the client."""
    titles = [s.get("title") for s in DOCUMENTS[service]["components"]["schemas"].values()]
    assert sorted(t for t in titles if titles.count(t) > 1) == []
