"""The gateway's OpenAPI documents, one per host (docs/openapi/gateway.json for the public host,
gateway-internal.json for the internal one): every operation a client can reach through the
gateway on that host, at the path it calls there, and nothing the host does not route (no
broker, no database)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from loyalty_devkit.gateway.routes import HOSTNAMES, SERVICES, Host, route
from loyalty_devkit.openapi_export import GATEWAY_FILE, INTERNAL_GATEWAY_FILE, openapi_documents

DOCUMENTS: dict[str, dict[str, Any]] = {
    filename.removesuffix(".json"): json.loads(text)
    for filename, text in openapi_documents().items()
}
GATEWAYS: dict[Host, dict[str, Any]] = {
    "public": DOCUMENTS[GATEWAY_FILE.removesuffix(".json")],
    "internal": DOCUMENTS[INTERNAL_GATEWAY_FILE.removesuffix(".json")],
}
GATEWAY = GATEWAYS["public"]
HOSTS = pytest.mark.parametrize("host", ["public", "internal"])


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


@HOSTS
def test_every_path_of_a_gateway_document_reaches_the_service_that_documents_it(
    host: Host,
) -> None:
    for method, path, operation in operations(GATEWAYS[host]):
        rule = route(method.upper(), path, host)
        assert rule is not None, f"the gateway does not route {method} {path} on {host}"
        upstream = DOCUMENTS[rule.service]["paths"][rule.upstream_path(path)][method]
        assert operation["summary"] == upstream["summary"]
        limited = {"429"} if host == "public" else set()
        assert operation["responses"].keys() == upstream["responses"].keys() | limited
        assert operation.get("security") == upstream.get("security")


@HOSTS
def test_every_operation_a_service_documents_on_a_routed_path_is_in_its_hosts_document(
    host: Host,
) -> None:
    reached = {
        (rule.service, rule.upstream_path(path), method)
        for method, path, _ in operations(GATEWAYS[host])
        if (rule := route(method.upper(), path, host)) is not None
    }
    for service in SERVICES:
        for method, path, _ in operations(DOCUMENTS[service]):
            routed = route(method.upper(), path, host) or route(
                method.upper(), f"/{service}{path}", host
            )
            if routed is not None and routed.service == service:
                assert (service, path, method) in reached, f"{service}: {method} {path}"
    assert ("points", "/v1/members/{member_id}/points", "get") in reached
    assert ("feedback", "/v1/surveys/{token}/answers", "post") in reached
    assert (("tiers", "/v1/members/{member_id}/tier", "put") in reached) == (host == "internal")


def test_probes_and_operators_paths_are_not_in_the_public_document() -> None:
    paths = GATEWAY["paths"].keys()
    for left_out in ("/healthz", "/readyz", "/metrics", "/v1/audit-log", "/v1/dead-letters"):
        assert not any(left_out in p for p in paths), left_out
    for left_out in ("/v1/reports", "/v1/program", "/v1/rewards", "/v1/campaigns", "/v1/reviews"):
        assert not any(p.startswith(left_out) for p in paths), left_out
    assert "put" not in GATEWAY["paths"]["/v1/members/{member_id}/tier"]
    assert not any(p.endswith(("/adjustments", "/review", "/cancellation")) for p in paths)


def test_the_internal_document_has_each_services_audit_log_and_dead_letters_under_its_name() -> (
    None
):
    paths = GATEWAYS["internal"]["paths"].keys()
    for service in SERVICES:
        assert f"/{service}/v1/audit-log" in paths
        assert f"/{service}/v1/dead-letters/replay" in paths
    assert not any(p.endswith(("/healthz", "/readyz", "/metrics")) for p in paths)


def test_every_operation_on_the_public_host_may_be_rate_limited() -> None:
    for method, path, operation in operations(GATEWAY):
        limited = operation["responses"]["429"]
        assert "Retry-After" in limited["headers"], f"{method} {path}"


@HOSTS
def test_a_member_path_every_service_answers_is_under_the_services_name(host: Host) -> None:
    ids = {
        path: operation["operationId"]
        for method, path, operation in operations(GATEWAYS[host])
        if path.endswith("/export")
    }
    assert ids == {
        f"/{service}/v1/members/{{member_id}}/export": f"{service}ExportMember"
        for service in SERVICES
    }


def test_schemas_two_services_define_differently_are_kept_apart_by_the_services_name() -> None:
    schemas = GATEWAYS["internal"]["components"]["schemas"]
    assert "Benefit" not in schemas
    assert schemas["PointsBenefit"] != schemas["TiersBenefit"]
    assert schemas["TiersBenefit"]["title"] == "TiersBenefit"


@HOSTS
def test_every_reference_names_a_schema_of_the_document_and_every_schema_is_used(
    host: Host,
) -> None:
    schemas = GATEWAYS[host]["components"]["schemas"]
    text = json.dumps(GATEWAYS[host])
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert referenced == schemas.keys()


@HOSTS
def test_a_gateway_document_names_its_host_and_the_local_gateway(host: Host) -> None:
    urls = [server["url"] for server in GATEWAYS[host]["servers"]]
    assert urls == [f"https://{HOSTNAMES[host]}", "http://127.0.0.1:8000"]
