"""Every endpoint of a service, read from its own OpenAPI document (`app.openapi()`), so an
endpoint added tomorrow is in the security tests without anyone remembering to add it.

Who may call an endpoint is read from the route itself: the dependencies `admin_access` (ops)
and `requires_scope(...)` (an operator role, which admin holds too), `member_access` (the member
named in the path, or an admin); an endpoint with none of them and no security in its OpenAPI is
public. An endpoint that asks for a token but is none of them is reported as unclassified, so
nobody adds one without saying who may call it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from loyalty_shared.http.auth import admin_access, current_principal, member_access

MEMBER = "m-1001"
OTHER_MEMBER = "m-2002"
ADMIN = "ops-1"

Access = Literal["public", "member", "admin", "unclassified"]

#: Values an integrator would send, by field name; anything else comes from the schema.
SENSIBLE: dict[str, Any] = {
    "member_id": MEMBER,
    "currency": "CNY",
    "total": "120.00",
    "unit_price": "120.00",
    "time_zone": "Asia/Shanghai",
    "tier": "silver",
    "reason": "status match",
    "points": 10,
    "score": 9,
    "q": "late",
    "start": "22:00",
    "end": "08:00",
}

#: Per endpoint, optional fields left out of the base body because a made-up value is refused
#: for a reason of its own (an app answer about an order the platform never saw is 422).
LEFT_OUT: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/members/{member_id}/feedback"): {"order_id"},
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    access: Access
    operation: dict[str, Any] = field(repr=False, hash=False, compare=False)
    components: dict[str, Any] = field(repr=False, hash=False, compare=False)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> list[dict[str, Any]]:
        params: list[dict[str, Any]] = self.operation.get("parameters", [])
        return params

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = self.operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        return None if schema is None else self.resolve(schema)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def url(
        self, path_values: dict[str, str] | None = None, query: dict[str, str] | None = None
    ) -> str:
        """The path with every parameter filled sensibly (`path_values` first), plus query."""
        values = {p["name"]: self.example_param(p) for p in self.parameters if p["in"] == "path"}
        values.update(path_values or {})
        url = self.path.format(**{k: quote(str(v), safe="") for k, v in values.items()})
        query = {**self.query(), **(query or {})}
        if query:
            url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return url

    def query(self) -> dict[str, str]:
        """The required query parameters, filled."""
        return {
            p["name"]: str(self.example_param(p))
            for p in self.parameters
            if p["in"] == "query" and p.get("required")
        }

    def headers(self) -> dict[str, str]:
        """Header parameters (`Idempotency-Key`), a fresh value each time."""
        return {
            p["name"]: str(self.example_param(p)) for p in self.parameters if p["in"] == "header"
        }

    def example_param(self, param: dict[str, Any]) -> Any:
        if param["name"] == "Idempotency-Key":
            return f"key-{uuid.uuid4()}"
        return self.example(param["schema"], param["name"])

    def body(self) -> Any:
        schema = self.body_schema
        if schema is None:
            return None
        body = self.example(schema, "")
        for name in LEFT_OUT.get((self.method, self.path), set()):
            body.pop(name, None)
        return body

    def example(self, schema: dict[str, Any], name: str) -> Any:
        """A valid value for `schema`, optional properties included (so every text field is
        there to be fuzzed); a field the table above names gets that value."""
        if name in SENSIBLE:
            return SENSIBLE[name]
        schema = self.resolve(schema)
        if "anyOf" in schema:
            branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
            strings = [b for b in branches if b.get("type") == "string"]
            return self.example((strings or branches)[0], name)
        kind = schema.get("type")
        if "enum" in schema:
            return schema["enum"][0]
        if kind == "object":
            return {
                key: self.example(sub, key) for key, sub in schema.get("properties", {}).items()
            }
        if kind == "array":
            return [self.example(schema.get("items", {}), name)]
        if kind == "integer":
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
            return max(int(low), 1)
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return True
        return _string(schema, name)

    def text_fields(self) -> Iterator[tuple[str, ...]]:
        """The path (keys, list index as "0") of every string in the request body."""
        schema = self.body_schema
        if schema is not None:
            yield from self._strings(schema, ())

    def _strings(self, schema: dict[str, Any], at: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        schema = self.resolve(schema)
        branches = schema.get("anyOf", [schema])
        for branch in (self.resolve(b) for b in branches):
            if branch.get("type") == "string":
                yield at
                return
        for branch in (self.resolve(b) for b in branches):
            if branch.get("type") == "object":
                for key, sub in branch.get("properties", {}).items():
                    yield from self._strings(sub, (*at, key))
            elif branch.get("type") == "array":
                yield from self._strings(branch.get("items", {}), (*at, "0"))


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return (datetime.now(UTC) + timedelta(days=30)).isoformat()
    if fmt == "date":
        return "1990-05-17"
    if fmt == "time":
        return "22:00"
    value = f"{name or 'text'}-1"
    return value[: schema.get("maxLength", len(value))].ljust(schema.get("minLength", 0), "x")


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _operator(call: object) -> bool:
    """A role of contract 5.1 (`requires_scope`): of the callers here, only an admin holds it."""
    return getattr(call, "__name__", None) == "operator_access"


def _access(route: APIRoute, secured: bool) -> Access:
    calls = set(_calls(route.dependant))
    if admin_access in calls or any(_operator(call) for call in calls):
        return "admin"
    if member_access in calls:
        return "member"
    if current_principal in calls or secured:
        return "unclassified"
    return "public"


def endpoints_of(app: FastAPI) -> list[Endpoint]:
    document = app.openapi()
    routes = {
        (method, context.path): context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.original_route.methods or ()
    }
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = routes[(method.upper(), path)]
            access = _access(route, bool(operation.get("security")))
            found.append(
                Endpoint(
                    method.upper(),
                    path,
                    access,
                    operation,
                    document.get("components", {}).get("schemas", {}),
                )
            )
    return found


def set_at(body: Any, at: tuple[str, ...], value: Any) -> Any:
    """A copy of `body` with the field at `at` replaced."""
    if not at:
        return value
    head, rest = at[0], at[1:]
    if isinstance(body, list):
        copy = list(body)
        copy[int(head)] = set_at(copy[int(head)], rest, value)
        return copy
    return {**body, head: set_at(body.get(head), rest, value)}
