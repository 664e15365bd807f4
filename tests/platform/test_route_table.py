"""The route table (the Kubernetes HTTPRoutes and the local gateway all route by it) against the
committed OpenAPI documents: every member's operation reaches the one service that answers it
on the public host, every operator's only on the internal host, no operation is claimed by two
services, and the probes are on neither host."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from loyalty_devkit.gateway.routes import (
    RATE_LIMITS,
    RULES,
    SERVICES,
    WRITES,
    Host,
    host_of,
    route,
)

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi"
DOCUMENTS: dict[str, dict[str, Any]] = {
    service: json.loads((OPENAPI / f"{service}.json").read_text("utf-8")) for service in SERVICES
}
OPERATIONS = [
    (service, method.upper(), path, operation)
    for service, document in DOCUMENTS.items()
    for path, methods in document["paths"].items()
    if path.startswith("/v1/")
    for method, operation in methods.items()
]
ANSWERED_BY = Counter(path for paths in DOCUMENTS.values() for path in paths["paths"])


def for_members(operation: dict[str, Any]) -> bool:
    """What the service's own document says: open (the survey link) or admitting a member's
    token (no scope asked), rather than operator scopes only."""
    security = operation.get("security")
    return security is None or all(not scopes for req in security for scopes in req.values())


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def called_as(service: str, path: str) -> str:
    """A path every service answers is reached under the service's name."""
    called = concrete(path)
    return f"/{service}{called}" if ANSWERED_BY[path] > 1 else called


def claimed_by(method: str, path: str, host: Host) -> set[str]:
    return {
        r.service for r in RULES if r.on(host) and any(m.matches(method, path) for m in r.matches)
    }


IDS = [f"{s}:{m} {p}" for s, m, p, _ in OPERATIONS]


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_is_on_the_host_its_access_says(
    service: str, method: str, path: str, operation: dict[str, Any]
) -> None:
    called = called_as(service, path)
    expected: Host = "public" if for_members(operation) else "internal"
    assert host_of(method, called) == expected, (
        f"{method} {path} of docs/openapi/{service}.json: "
        + ("a member's endpoint" if expected == "public" else "operators' only")
        + f": put it on the {expected} host in gateway/routes.py"
    )
    for host in ("public", "internal") if expected == "public" else ("internal",):
        rule = route(method, called, host)
        assert rule is not None
        assert rule.service == service, path
        assert rule.upstream_path(called) == concrete(path)
        assert claimed_by(method, called, host) == {service}, "two services claim it"


def test_the_public_host_routes_no_operators_operation() -> None:
    operators = [(m, called_as(s, p)) for s, m, p, op in OPERATIONS if not for_members(op)]
    assert len(operators) > 40, "the documents have operators' operations"
    for method, path in operators:
        assert route(method, path, "public") is None, f"{method} {path}"
    # one path, two audiences: the member reads their tier, an admin overrides it
    assert route("GET", "/v1/members/m-1/tier", "public") is not None
    assert route("PUT", "/v1/members/m-1/tier", "public") is None
    assert route("POST", "/points/v1/members/m-1/adjustments", "public") is None
    assert route("GET", "/points/v1/audit-log", "public") is None


def test_probes_are_on_no_host() -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        for host in ("public", "internal"):
            assert route("GET", path, host) is None, path
            assert all(route("GET", f"/{s}{path}", host) is None for s in SERVICES), path
    assert route("GET", "/v1/members/x-1", "internal") is None, "no one service owns it"


def test_writes_have_a_stricter_limit_than_reads_and_feedback_answers_the_strictest() -> None:
    def per_hour(name: str) -> float:
        limit = next(limit for limit in RATE_LIMITS if limit.name == name)
        return limit.requests * {"Second": 3600, "Minute": 60, "Hour": 1, "Day": 1 / 24}[limit.unit]

    assert per_hour("writes") < per_hour("requests")
    assert per_hour("feedback-answers") < per_hour("writes")
    applying = {
        limit.name for limit in RATE_LIMITS if limit.applies("POST", "/v1/surveys/t-1/answers")
    }
    assert applying == {"requests", "writes", "feedback-answers"}
    assert {
        limit.name for limit in RATE_LIMITS if limit.applies("GET", "/v1/members/m-1/points")
    } == {"requests"}
    assert set(WRITES) == {"POST", "PUT", "PATCH", "DELETE"}
