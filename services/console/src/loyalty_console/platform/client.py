"""The four services, as the console reaches them: over their HTTP APIs, with the operator's own
token (so every call is the operator's, checked and audited by the service that takes it), never
their databases. Every call answers an `Answer`, never raises: a page shows what it got and says
plainly what it did not (not offered by this version of the service, not allowed for this role,
the service away)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
import orjson

from loyalty_console.auth.operator import Operator

Service = Literal["points", "tiers", "notifications", "feedback"]
SERVICES: tuple[Service, ...] = ("points", "tiers", "notifications", "feedback")

#: `status` when the service could not be reached at all (refused, timed out).
UNREACHABLE = 0
#: The calls the current request made: (service, milliseconds), for its Server-Timing header.
CALLS: ContextVar[list[tuple[str, float]] | None] = ContextVar("console_calls", default=None)


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
    def __init__(
        self, client: httpx.AsyncClient, urls: Mapping[str, str], *, report_ttl_s: float = 60
    ) -> None:
        self._client = client
        self._urls = dict(urls)
        self._reports = ReportCache(report_ttl_s)

    async def report(
        self,
        operator: Operator,
        service: Service,
        path: str,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        """A report on the whole program (no member in it): shared by the operators of the same
        roles, fetched at most once per `report_ttl_s`, served as it was while a fresh one is
        fetched (see ReportCache)."""
        key = (service, path, tuple(sorted((params or {}).items())), operator.scopes)
        return await self._reports.get(key, lambda: self.get(operator, service, path, params))

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
        started = time.perf_counter()
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
        finally:
            calls = CALLS.get()
            if calls is not None:
                calls.append((service, (time.perf_counter() - started) * 1000))
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


@dataclass
class _Cached:
    answer: Answer
    fetched_at: float = field(default_factory=time.monotonic)


class ReportCache:
    """Successful report answers by key: fresh for `ttl_s`; then the stale answer is still
    served at once while one fetch runs in the background (stale-while-revalidate), so only the
    first view after the console starts waits for the services' aggregates. Concurrent misses
    share one fetch. A refusal or a failure is never kept."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[object, _Cached] = {}
        self._fetching: dict[object, asyncio.Task[Answer]] = {}

    async def get(self, key: object, fetch: Callable[[], Awaitable[Answer]]) -> Answer:
        cached = self._entries.get(key)
        if cached is not None:
            if time.monotonic() - cached.fetched_at > self._ttl_s:
                self._fetch(key, fetch)  # in the background: this answer does not wait for it
            return cached.answer
        return await asyncio.shield(self._fetch(key, fetch))

    def _fetch(self, key: object, fetch: Callable[[], Awaitable[Answer]]) -> asyncio.Task[Answer]:
        running = self._fetching.get(key)
        if running is None:
            running = self._fetching[key] = asyncio.create_task(self._fill(key, fetch))
        return running

    async def _fill(self, key: object, fetch: Callable[[], Awaitable[Answer]]) -> Answer:
        try:
            answer = await fetch()
            if answer.ok:
                self._entries[key] = _Cached(answer)
            return answer
        finally:
            self._fetching.pop(key, None)


async def gather(calls: Mapping[K, Awaitable[Answer]]) -> dict[K, Answer]:
    """Several calls at once (a page asks the services in parallel), by name."""
    answers = await asyncio.gather(*calls.values())
    return dict(zip(calls.keys(), answers, strict=True))
