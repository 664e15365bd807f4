"""Every endpoint of a service, read from its own OpenAPI document (`app.openapi()`), so an
endpoint added tomorrow is in the security tests without anyone remembering to add it.

Who may call an endpoint is the table `WHO_MAY` below (contract sections 3 and 5.1), written
down here rather than read from the code it checks: an endpoint the table does not list is
reported as unlisted, and the authorization matrix fails until someone says who may call it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

MEMBER = "m-1001"
OTHER_MEMBER = "m-2002"
ADMIN = "ops-1"

Access = Literal["public", "guarded", "unlisted"]
#: The callers of the authorization matrix that hold a valid token.
Role = Literal["the member", "another member", "support", "marketing", "finance", "admin"]

#: Spends or changes the member's own things: the member themself or an admin.
MEMBER_OWN: frozenset[Role] = frozenset({"the member", "admin"})
#: Reads a member's data: the member themself, support or an admin (an operator's read is
#: recorded in the audit log).
MEMBER_DATA: frozenset[Role] = frozenset({"the member", "support", "admin"})
SUPPORT: frozenset[Role] = frozenset({"support", "admin"})
MARKETING: frozenset[Role] = frozenset({"marketing", "admin"})
FINANCE: frozenset[Role] = frozenset({"finance", "admin"})
ADMIN_ONLY: frozenset[Role] = frozenset({"admin"})
#: No bearer token asked for (probes, metrics, the survey link with its own token).
PUBLIC = None

#: Who may call each endpoint of every service: anyone else with a valid token gets 403, anyone
#: without one 401. Routes the contract names for other branches (rewards, exports, finance and
#: program analytics) are listed ahead of them.
WHO_MAY: dict[tuple[str, str], frozenset[Role] | None] = {
    # every service
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/v1/audit-log"): ADMIN_ONLY,
    ("GET", "/v1/members/{member_id}/export"): MEMBER_DATA,
    ("GET", "/v1/dead-letters"): ADMIN_ONLY,
    ("GET", "/v1/dead-letters/summary"): ADMIN_ONLY,
    ("GET", "/v1/dead-letters/{dead_letter_id}"): ADMIN_ONLY,
    ("POST", "/v1/dead-letters/{dead_letter_id}/replay"): ADMIN_ONLY,
    ("POST", "/v1/dead-letters/replay"): ADMIN_ONLY,
    # points
    ("GET", "/v1/members/{member_id}/points"): MEMBER_DATA,
    ("GET", "/v1/members/{member_id}/points/transactions"): MEMBER_DATA,
    ("GET", "/v1/members/{member_id}/points/lots"): MEMBER_DATA,
    ("GET", "/v1/reports/points-flow"): MARKETING,
    ("POST", "/v1/members/{member_id}/redemptions"): MEMBER_OWN,
    ("POST", "/v1/members/{member_id}/redemptions/{redemption_id}/cancellation"): ADMIN_ONLY,
    ("POST", "/v1/members/{member_id}/holds"): MEMBER_OWN,
    ("GET", "/v1/members/{member_id}/holds/{hold_id}"): MEMBER_DATA,
    ("POST", "/v1/members/{member_id}/holds/{hold_id}/commit"): MEMBER_OWN,
    ("POST", "/v1/members/{member_id}/holds/{hold_id}/release"): MEMBER_OWN,
    ("POST", "/v1/members/{member_id}/adjustments"): SUPPORT,
    ("POST", "/v1/program/simulate"): MARKETING,
    ("GET", "/v1/program"): MARKETING,
    ("POST", "/v1/program/backtest"): MARKETING,
    ("GET", "/v1/campaigns"): MARKETING,
    ("POST", "/v1/campaigns"): MARKETING,
    ("POST", "/v1/campaigns/{campaign_id}/end"): MARKETING,
    ("GET", "/v1/rewards"): MARKETING,
    ("POST", "/v1/rewards"): MARKETING,
    ("PUT", "/v1/rewards/{reward_id}"): MARKETING,
    ("GET", "/v1/rewards/{reward_id}"): MARKETING,
    ("POST", "/v1/rewards/{reward_id}/retirement"): MARKETING,
    ("POST", "/v1/rewards/{reward_id}/codes"): MARKETING,
    ("GET", "/v1/members/{member_id}/rewards"): MEMBER_DATA,
    ("POST", "/v1/members/{member_id}/reward-redemptions"): MEMBER_OWN,
    ("GET", "/v1/members/{member_id}/reward-redemptions"): MEMBER_DATA,
    ("GET", "/v1/members/{member_id}/reward-redemptions/{redemption_id}"): MEMBER_DATA,
    ("POST", "/v1/members/{member_id}/reward-redemptions/{redemption_id}/cancellation"): SUPPORT,
    ("GET", "/v1/reports/liability"): FINANCE,
    ("GET", "/v1/members/{member_id}/review"): SUPPORT,
    ("POST", "/v1/members/{member_id}/review"): SUPPORT,
    ("GET", "/v1/reviews"): SUPPORT,
    # tiers
    ("GET", "/v1/members/{member_id}/tier"): MEMBER_DATA,
    ("GET", "/v1/members/{member_id}/tier/history"): MEMBER_DATA,
    ("PUT", "/v1/members/{member_id}/tier"): ADMIN_ONLY,
    ("GET", "/v1/reports/members"): MARKETING,
    # notifications
    ("GET", "/v1/members/{member_id}/notifications"): MEMBER_DATA,
    ("GET", "/v1/members/{member_id}/preferences"): MEMBER_DATA,
    ("PUT", "/v1/members/{member_id}/preferences"): MEMBER_OWN,
    # feedback
    ("POST", "/v1/members/{member_id}/feedback"): MEMBER_OWN,
    ("POST", "/v1/surveys/{token}/answers"): PUBLIC,
    ("GET", "/v1/members/{member_id}/insight"): MEMBER_DATA,
    ("GET", "/v1/insights/segments"): MARKETING,
    ("GET", "/v1/feedback/summary"): MARKETING,
    ("GET", "/v1/feedback/breakdown"): MARKETING,
    ("GET", "/v1/feedback/comments"): SUPPORT,  # comments are personal data: not marketing's
    ("GET", "/v1/feedback/trend"): MARKETING,
    ("GET", "/v1/feedback/cases"): SUPPORT,
    ("PUT", "/v1/feedback/cases/{feedback_id}"): SUPPORT,
    ("GET", "/v1/members/{member_id}/feedback"): MEMBER_DATA,
    ("GET", "/v1/insights/retention"): MARKETING,
    ("GET", "/v1/insights/clv"): MARKETING,
    ("GET", "/v1/insights/loyalty-index"): MARKETING,
}


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
    operation: dict[str, Any] = field(repr=False, hash=False, compare=False)
    components: dict[str, Any] = field(repr=False, hash=False, compare=False)

    @property
    def access(self) -> Access:
        key = (self.method, self.path)
        if key not in WHO_MAY:
            return "unlisted"
        return "public" if WHO_MAY[key] is PUBLIC else "guarded"

    @property
    def who_may(self) -> frozenset[Role]:
        return WHO_MAY.get((self.method, self.path)) or frozenset()

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


def endpoints_of(app: FastAPI) -> list[Endpoint]:
    """Every route the app answers (FastAPI's own documentation pages aside), whether or not its
    OpenAPI document shows it, with the operation the document describes."""
    document = app.openapi()
    components = document.get("components", {}).get("schemas", {})
    own = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    paths = [(c.path, c.methods or set()) for c in iter_route_contexts(app.routes) if c.path]
    return [
        Endpoint(method, path, document["paths"].get(path, {}).get(method.lower(), {}), components)
        for path, methods in paths
        if path not in own
        for method in sorted(methods - {"HEAD"})
    ]


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
