"""The public route table (the Kubernetes HTTPRoute and the local gateway both route by it)
against the committed OpenAPI documents: every public path reaches the one service that
answers it, no path is claimed by two services, and operators' paths are not public."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from loyalty_devkit.gateway.routes import RULES, SERVICES, operator_only, route

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi"
DOCUMENTED = {
    service: [
        path
        for path in json.loads((OPENAPI / f"{service}.json").read_text("utf-8"))["paths"]
        if path.startswith("/v1/")
    ]
    for service in SERVICES
}
ANSWERED_BY = Counter(path for paths in DOCUMENTED.values() for path in paths)
PUBLIC = [
    (service, path)
    for service, paths in DOCUMENTED.items()
    for path in paths
    if not operator_only(path)
]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def claimed_by(path: str) -> set[str]:
    return {r.service for r in RULES if any(m.matches(path) for m in r.matches)}


@pytest.mark.parametrize(("service", "path"), PUBLIC, ids=[f"{s}:{p}" for s, p in PUBLIC])
def test_every_public_path_reaches_the_service_that_documents_it(service: str, path: str) -> None:
    called = concrete(path)
    if ANSWERED_BY[path] > 1:  # every service answers it: reached under the service's name
        assert route(called) is None, f"{path} is answered by several services"
        called = f"/{service}{called}"
    rule = route(called)
    assert rule is not None, f"{path} of docs/openapi/{service}.json: add it to gateway/routes.py"
    assert rule.service == service, path
    assert rule.upstream_path(called) == concrete(path)
    assert claimed_by(called) == {service}, "two services claim it: the order would decide"


def test_operators_and_probes_are_not_on_the_public_route() -> None:
    operators = [concrete(p) for paths in DOCUMENTED.values() for p in paths if operator_only(p)]
    assert operators, "the documents have operators' paths"
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", *operators):
        assert route(path) is None, path
        assert all(route(f"/{service}{path}") is None for service in SERVICES), path
    assert route("/v1/members/x-1") is None
