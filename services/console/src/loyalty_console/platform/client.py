"""The four services, as the console reaches them: over their HTTP APIs, with the operator's own
token (so every call is the operator's, checked and audited by the service that takes it), never
their databases. Every call answers an `Answer`, never raises: a page shows what it got and says
plainly what it did not (not offered by this version of the service, not allowed for this role,
the service away)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
import orjson

from loyalty_console.auth.operator import Operator

Service = Literal["points", "tiers", "notifications", "feedback"]
SERVICES: tuple[Service, ...] = ("points", "tiers", "notifications", "feedback")

#: `status` when the service could not be reached at all (refused, timed out).
UNREACHABLE = 0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def not_offered(self) -> bool:
        """The service has no such endpoint (yet): a route unknown to it, not a 404 about a
        resource, which carries a problem type of its own."""
        if self.status not in (404, 405) or not isinstance(self.body, dict):
            return False
        return bool(self.body.get("type", "about:blank") == "about:blank")

    @property
    def refused(self) -> bool:
        return self.status in (401, 403)

    @property
    def unavailable(self) -> bool:
        return self.status == UNREACHABLE or self.status >= 500

    @property
    def detail(self) -> str:
        """What went wrong, as the service said it (a problem document's detail or title)."""
        if isinstance(self.body, dict):
            text = self.body.get("detail") or self.body.get("title")
            if text:
                return str(text)
        return "" if self.ok or self.status == UNREACHABLE else f"HTTP {self.status}"

    @property
    def problem_type(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("type", ""))
        return ""

    def json(self) -> Any:
        """The body of a successful answer (a page checks `ok` first)."""
        assert self.ok, f"not a successful answer: {self.status}"
        return self.body


class Platform:
    def __init__(self, client: httpx.AsyncClient, urls: Mapping[str, str]) -> None:
        self._client = client
        self._urls = dict(urls)

    async def call(
        self,
        operator: Operator,
        service: Service,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = {"Authorization": f"Bearer {operator.token}", **(headers or {})}
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self._client.request(
                method,
                f"{self._urls[service]}{path}",
                params=query,
                content=None if json is None else orjson.dumps(json),
                headers=sent if json is None else {**sent, "Content-Type": "application/json"},
            )
        except httpx.HTTPError:
            return Answer(UNREACHABLE)
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        return Answer(response.status_code, body)

    async def get(
        self,
        operator: Operator,
        service: Service,
        path: str,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        return await self.call(operator, service, "GET", path, params=params)

    async def post(
        self,
        operator: Operator,
        service: Service,
        path: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        return await self.call(operator, service, "POST", path, json=json, headers=headers)

    async def put(self, operator: Operator, service: Service, path: str, json: Any) -> Answer:
        return await self.call(operator, service, "PUT", path, json=json)


K = TypeVar("K")


async def gather(calls: Mapping[K, Awaitable[Answer]]) -> dict[K, Answer]:
    """Several calls at once (a page asks the services in parallel), by name."""
    answers = await asyncio.gather(*calls.values())
    return dict(zip(calls.keys(), answers, strict=True))
