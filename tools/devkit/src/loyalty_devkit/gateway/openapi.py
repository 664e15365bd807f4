"""The gateway's one OpenAPI document: every operation the route table sends to a service, under
the path a client calls on the gateway, merged from the four services' documents.

A path is taken as the service serves it when the table routes it there unchanged, else under
the service's prefix (`/points/v1/members/{member_id}/export`); what the table does not route
(probes, operators' paths) is left out. Operation ids and schema names two services share with
different meanings get the service's name in front (`pointsExportMember`, `TiersBenefit`); the
`Problem` component and the bearer scheme are one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from typing import Any

from loyalty_devkit.gateway.routes import PUBLIC_HOST, SERVICES, route

SCHEMAS = "#/components/schemas/"
LOCAL_URL = "http://127.0.0.1:8000"
DESCRIPTION = (
    "The loyalty platform's public API, as one base URL: the gateway routes each path to the "
    "service that owns it (tools/devkit/src/loyalty_devkit/gateway/routes.py, the table the "
    "Kubernetes HTTPRoute is generated from). A member path every service answers is reached "
    "under the service's name (`/points/v1/members/{member_id}/export`). Operators' paths "
    "(audit logs, dead letters, reports) and the probes are not on the gateway: each "
    "service's own document (docs/openapi/<service>.json) has them."
)


def gateway_path(service: str, path: str) -> str | None:
    """Where a client reaches the service's `path` through the gateway, if anywhere."""
    for candidate in (path, f"/{service}{path}"):
        rule = route(candidate)
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


def gateway_document(documents: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The merged document of the services' `documents` (not changed)."""
    # each service's routed operations: (gateway path, method, operation)
    routed: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for service in SERVICES:
        routed[service] = [
            (public, method, operation)
            for path, methods in documents[service]["paths"].items()
            if (public := gateway_path(service, path)) is not None
            for method, operation in methods.items()
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
            "title": "Loyalty platform",
            "version": first["info"]["version"],
            "description": DESCRIPTION,
        },
        "servers": [
            {"url": f"https://{PUBLIC_HOST}", "description": "The public API host (Kubernetes)"},
            {"url": LOCAL_URL, "description": "The local gateway `make run` starts"},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": first["components"]["securitySchemes"],
        },
    }
