"""The gateway's one OpenAPI document (docs/openapi/gateway.json): every operation a client can
reach through the gateway, at the path it calls there, and nothing the gateway does not route
(no broker, no database)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from loyalty_devkit.gateway.routes import PUBLIC_HOST, SERVICES, route
from loyalty_devkit.openapi_export import GATEWAY_FILE, openapi_documents

DOCUMENTS: dict[str, dict[str, Any]] = {
    filename.removesuffix(".json"): json.loads(text)
    for filename, text in openapi_documents().items()
}
GATEWAY = DOCUMENTS[GATEWAY_FILE.removesuffix(".json")]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_path_of_the_gateway_document_reaches_the_service_that_documents_it() -> None:
    for method, path, operation in operations(GATEWAY):
        rule = route(path)
        assert rule is not None, f"the gateway does not route {path}"
        upstream = DOCUMENTS[rule.service]["paths"][rule.upstream_path(path)][method]
        assert operation["summary"] == upstream["summary"]
        assert operation["responses"].keys() == upstream["responses"].keys()
        assert operation.get("security") == upstream.get("security")


def test_every_operation_a_service_documents_on_a_routed_path_is_in_the_gateway_document() -> None:
    reached = {
        (rule.service, rule.upstream_path(path), method)
        for method, path, _ in operations(GATEWAY)
        if (rule := route(path)) is not None
    }
    for service in SERVICES:
        for method, path, _ in operations(DOCUMENTS[service]):
            routed = route(path) or route(f"/{service}{path}")
            if routed is not None and routed.service == service:
                assert (service, path, method) in reached, f"{service}: {method} {path}"
    assert ("points", "/v1/members/{member_id}/points", "get") in reached
    assert ("tiers", "/v1/members/{member_id}/tier", "put") in reached
    assert ("feedback", "/v1/surveys/{token}/answers", "post") in reached


def test_probes_and_operators_paths_are_not_in_the_gateway_document() -> None:
    paths = GATEWAY["paths"].keys()
    for left_out in ("/healthz", "/readyz", "/metrics", "/v1/audit-log", "/v1/dead-letters"):
        assert not any(p == left_out or p.startswith(f"{left_out}/") for p in paths), left_out
    assert not any(p.startswith("/v1/reports") for p in paths)


def test_a_member_path_every_service_answers_is_under_the_services_name() -> None:
    ids = {
        path: operation["operationId"]
        for method, path, operation in operations(GATEWAY)
        if path.endswith("/export")
    }
    assert ids == {
        f"/{service}/v1/members/{{member_id}}/export": f"{service}ExportMember"
        for service in SERVICES
    }


def test_schemas_two_services_define_differently_are_kept_apart_by_the_services_name() -> None:
    schemas = GATEWAY["components"]["schemas"]
    assert "Benefit" not in schemas
    assert schemas["PointsBenefit"] != schemas["TiersBenefit"]
    assert schemas["TiersBenefit"]["title"] == "TiersBenefit"


def test_every_reference_names_a_schema_of_the_document_and_every_schema_is_used() -> None:
    schemas = GATEWAY["components"]["schemas"]
    text = json.dumps(GATEWAY)
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert referenced == schemas.keys()


def test_the_gateway_document_names_the_public_host_and_the_local_gateway() -> None:
    urls = [server["url"] for server in GATEWAY["servers"]]
    assert urls == [f"https://{PUBLIC_HOST}", "http://127.0.0.1:8000"]
