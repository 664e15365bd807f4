"""HTTP RED metrics (rate, errors, duration) by route template, and the request's server span:
a plain ASGI middleware, one wrapper around `send` per request
(docs/architecture.md#observability)."""

from __future__ import annotations

import time

from opentelemetry import context as otel_context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loyalty_shared.observability import tracing
from loyalty_shared.observability.metrics import HTTP_REQUESTS, HTTP_SECONDS

UNMATCHED = "unmatched"  # no route: one label value, whatever path was asked for


class ObserveRequests:
    def __init__(self, app: ASGIApp, *, service: str, traces: tracing.Tracing) -> None:
        self._app = app
        self._service = service
        self._tracing = traces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        token = tracing.CURRENT.set(self._tracing)
        caller = None if self._tracing.recording else tracing.context_of_request(scope["headers"])
        attached = otel_context.attach(caller) if caller is not None else None
        started = time.perf_counter()
        try:
            await self._app(scope, receive, sending)
        finally:
            if attached is not None:
                otel_context.detach(attached)
            tracing.CURRENT.reset(token)
            # The router put the matched route in the scope: its template, never the raw path.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = str(scope.get("method", "GET"))
            HTTP_REQUESTS.labels(self._service, method, route, str(status)).inc()
            HTTP_SECONDS.labels(self._service, method, route).observe(time.perf_counter() - started)
