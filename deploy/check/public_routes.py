"""The public host routes no operators' endpoint: every HTTPRoute hung off the `public` Gateway
is matched, offline, against every operation of the services' committed OpenAPI documents
(docs/openapi/<service>.json) that admits operator scopes only, and against the probes.

An operation admits operator scopes only when its security requirement names scopes (a member's
own endpoints name none, the survey link's has none). A path every service answers is also
tried under each service's name (`/points/v1/audit-log`), as the route table reaches them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PUBLIC_GATEWAY = "public"
PROBES = ("/healthz", "/readyz", "/metrics", "/openapi.json")
SERVICES = ("points", "tiers", "notifications", "feedback")


def operators_operations(openapi: Path) -> list[tuple[str, str]]:
    """(METHOD, concrete path) of every operators'-only operation, and each under every
    service's name."""
    found: list[tuple[str, str]] = []
    for service in SERVICES:
        document = json.loads((openapi / f"{service}.json").read_text(encoding="utf-8"))
        for path, methods in document["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", "x-1", path)
            for method, operation in methods.items():
                security = operation.get("security") or []
                if any(scopes for requirement in security for scopes in requirement.values()):
                    found += [(method.upper(), concrete), (method.upper(), f"/{service}{concrete}")]
    return found


def _matches(match: dict[str, Any], method: str, path: str) -> bool:
    if match.get("method") not in (None, method):
        return False
    spec = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = spec.get("type", "PathPrefix"), spec.get("value", "/")
    if kind == "Exact":
        return path == value
    if kind == "PathPrefix":
        return path == value or path.startswith(value.rstrip("/") + "/")
    return re.fullmatch(value, path) is not None


def _public_routes(objs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for obj in objs:
        if obj.get("kind") == "HTTPRoute" and any(
            ref.get("name") == PUBLIC_GATEWAY for ref in obj.get("spec", {}).get("parentRefs", [])
        ):
            yield obj


def check_public_routes(objs: list[dict[str, Any]], openapi: Path) -> list[str]:
    """What the public host routes that it must not, one line each."""
    forbidden = operators_operations(openapi)
    forbidden += [(method, probe) for probe in PROBES for method in ("GET", "HEAD")]
    errors = []
    for route in _public_routes(objs):
        name = route["metadata"]["name"]
        for rule in route["spec"].get("rules", []):
            for match in rule.get("matches") or [{}]:
                routed = [f"{m} {p}" for m, p in forbidden if _matches(match, m, p)]
                if routed:
                    errors.append(
                        f"HTTPRoute/{name} on the public Gateway routes operators' or probes' "
                        f"{', '.join(routed[:3])}{' ...' if len(routed) > 3 else ''} "
                        f"(match {json.dumps(match, sort_keys=True)})"
                    )
    return errors
