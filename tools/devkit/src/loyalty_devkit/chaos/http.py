"""HTTP calls to a service with two replicas, either of which may be dead at any moment."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import httpx

from loyalty_devkit.chaos.cluster import Cluster

#: the request may have reached the service before it died: the outcome is unknown
AMBIGUOUS = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout, httpx.WriteError)
#: the request never left: no connection (refused, or not accepted within the connect timeout
#: on a loaded machine), or none free in the pool; safe to send again to any replica
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class NoAnswer(RuntimeError):
    pass


@dataclass
class Answer:
    status: int
    body: Any
    ambiguous_before: bool  # an earlier attempt may have been applied


class Services:
    def __init__(self, cluster: Cluster, admin_token: str, rng: random.Random) -> None:
        self._cluster = cluster
        self._rng = rng
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(20.0, connect=2.0),
            headers={"Authorization": f"Bearer {admin_token}"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def close(self) -> None:
        await self._client.aclose()

    def _urls(self, service: str) -> list[str]:
        urls = [r.url for r in self._cluster.replicas if r.service == service]
        self._rng.shuffle(urls)
        return urls

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        retry_ambiguous: bool = True,
        deadline_s: float = 180.0,
    ) -> Answer:
        """An answer that is not a 5xx, from whichever replica gives one. A request that never
        left (connection refused or not accepted in time, no pooled connection free) is retried
        at once elsewhere; an attempt that may have been applied (the connection dropped
        mid-request) is retried only if `retry_ambiguous`, else raised."""
        loop = asyncio.get_running_loop()
        stop = loop.time() + deadline_s
        ambiguous = False
        delay = 0.2
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        while True:
            for url in self._urls(service):
                try:
                    response = await self._client.request(
                        method, url + path, json=json, headers=all_headers, params=params
                    )
                except NOT_SENT:
                    continue
                except AMBIGUOUS:
                    ambiguous = True
                    if not retry_ambiguous:
                        raise
                    continue
                if response.status_code >= 500:
                    continue
                body = response.json() if response.content else None
                return Answer(response.status_code, body, ambiguous)
            if loop.time() > stop:
                raise NoAnswer(f"{service} {method} {path}: no answer in {deadline_s:.0f}s")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    async def get(self, service: str, path: str, **params: Any) -> Any:
        answer = await self.call(service, "GET", path, params=params or None)
        if answer.status != 200:
            raise NoAnswer(f"{service} GET {path}: {answer.status} {answer.body}")
        return answer.body

    async def pages(self, service: str, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = await self.get(service, path, **params)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items
