"""The gateway's OpenAPI documents, one per host: every operation the route table sends to a
service on that host, under the path a client calls there, merged from the four services'
documents.

A path is taken as the service serves it when the table routes it there unchanged, else under
the service's name (`/points/v1/members/{member_id}/export`); what the host does not route
(probes; on the public host, operators' paths) is left out. Operation ids and schema names two
services share with different meanings get the service's name in front (`pointsExportMember`,
`TiersBenefit`); the `Problem` component and the bearer scheme are one. On the public host every
operation may also be answered 429 by the gateway's rate limits.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from typing import Any

from loyalty_devkit.gateway.routes import HOSTNAMES, SERVICES, Host, route
from loyalty_shared.http.problems import problem_response_doc

SCHEMAS = "#/components/schemas/"
LOCAL_URL = "http://127.0.0.1:8000"
ROUTES = "tools/devkit/src/loyalty_devkit/gateway/routes.py"
DESCRIPTIONS: dict[Host, str] = {
    "public": (
        "The loyalty platform's public API (the mobile app, the survey page), as one base URL: "
        f"the gateway routes each path to the service that owns it ({ROUTES}, the table the "
        "Kubernetes HTTPRoutes are generated from). A member path every service answers is "
        "reached under the service's name (`/points/v1/members/{member_id}/export`). "
        "Operators' endpoints are on the internal host (gateway-internal.json), the probes on "
        "no host. Each client is rate limited (429 with `Retry-After`; docs/operations.md)."
    ),
    "internal": (
        "The loyalty platform's operators' API, inside the company network: the members' "
        "paths of the public host and every operator's (program, campaigns, rewards, "
        "adjustments, tier overrides, reviews, reports, feedback cases and insights), each "
        "service's audit log and dead letters under its name (`/points/v1/audit-log`). Routed "
        f"by {ROUTES}; the local gateway serves these paths with "
        "LOYALTY_GATEWAY_OPERATOR_PATHS=true, as `make run` sets."
    ),
}
RATE_LIMITED = {
    **problem_response_doc(
        429, "Too many requests from this client: the gateway's rate limit; wait and retry"
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before sending the request again",
            "schema": {"type": "integer"},
        }
    },
}


def gateway_path(service: str, method: str, path: str, host: Host) -> str | None:
    """Where a client reaches the service's `method` `path` on `host`, if anywhere."""
    for candidate in (path, f"/{service}{path}"):
        rule = route(method.upper(), candidate, host)
        if rule is not None and rule.service == service and rule.upstream_path(candidate) == path:
            return candidate
    return None


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMAS):
                yield value.removeprefix(SCHEMAS)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _reachable(schemas: Mapping[str, Any], roots: Any) -> set[str]:
    found: set[str] = set()
    pending = list(_refs(roots))
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(_refs(schemas[name]))
    return found


def _renamed(node: Any, names: Mapping[str, str]) -> Any:
    """`node` with its schema references renamed by `names`."""
    if isinstance(node, dict):
        return {
            key: (
                SCHEMAS + names.get(value.removeprefix(SCHEMAS), value.removeprefix(SCHEMAS))
                if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMAS)
                else _renamed(value, names)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renamed(item, names) for item in node]
    return node


def _prefixed(service: str, name: str) -> str:
    return service + name[:1].upper() + name[1:]


def gateway_document(documents: Mapping[str, dict[str, Any]], host: Host) -> dict[str, Any]:
    """The merged document of the services' `documents` (not changed) for `host`."""
    # each service's routed operations: (gateway path, method, operation)
    routed: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for service in SERVICES:
        routed[service] = [
            (public, method, operation)
            for path, methods in documents[service]["paths"].items()
            for method, operation in methods.items()
            if (public := gateway_path(service, method, path, host)) is not None
        ]

    used = {
        service: _reachable(
            documents[service]["components"]["schemas"], [op for _, _, op in routed[service]]
        )
        for service in SERVICES
    }
    variants: dict[str, set[str]] = {}
    for service in SERVICES:
        for name in used[service]:
            schema = documents[service]["components"]["schemas"][name]
            variants.setdefault(name, set()).add(json.dumps(schema, sort_keys=True))
    clashing = {name for name, texts in variants.items() if len(texts) > 1}
    ids = [op["operationId"] for service in SERVICES for _, _, op in routed[service]]
    shared_ids = {i for i in ids if ids.count(i) > 1}

    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for service in SERVICES:
        names = {name: service.capitalize() + name for name in clashing & used[service]}
        for public, method, operation in routed[service]:
            merged = _renamed(copy.deepcopy(operation), names)
            if merged["operationId"] in shared_ids:
                merged["operationId"] = _prefixed(service, merged["operationId"])
            if host == "public":
                own = merged["responses"].get("429")
                merged["responses"]["429"] = (
                    RATE_LIMITED
                    if own is None
                    else {
                        **RATE_LIMITED,
                        **own,
                        "description": f"{own['description']}; or the gateway's rate limit",
                    }
                )
            paths.setdefault(public, {})[method] = merged
        for name in sorted(used[service]):
            schema = _renamed(
                copy.deepcopy(documents[service]["components"]["schemas"][name]), names
            )
            if name in names:
                schema["title"] = names[name]
            schemas[names.get(name, name)] = schema

    first = documents[SERVICES[0]]
    schemes = {json.dumps(documents[s]["components"]["securitySchemes"]) for s in SERVICES}
    if len(schemes) > 1:
        raise ValueError("the services' security schemes differ: one gateway cannot say which")
    return {
        "openapi": first["openapi"],
        "info": {
            "title": "Loyalty platform" if host == "public" else "Loyalty platform (operators)",
            "version": first["info"]["version"],
            "description": DESCRIPTIONS[host],
        },
        "servers": [
            {"url": f"https://{HOSTNAMES[host]}", "description": f"The {host} API host"},
            {"url": LOCAL_URL, "description": "The local gateway `make run` starts"},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": first["components"]["securitySchemes"],
        },
    }
