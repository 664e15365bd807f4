"""The local gateway: one port in front of the four services, routing each path as the
Kubernetes HTTPRoutes do (the same table, `routes.py`). A small buffering reverse proxy.

It stands for the public host: an operators' path is refused (404, naming the internal host it
belongs to) unless `operator_paths` is on, as `make run` turns it on, then it also stands for
the internal host. Requests to the public host's paths are counted against the table's rate
limits per client IP (429 with Retry-After), as the Kubernetes gateway does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from loyalty_devkit.gateway.ratelimit import ClientLimits
from loyalty_devkit.gateway.routes import (
    INTERNAL_HOST,
    RATE_LIMITS,
    Host,
    RateLimit,
    host_of,
    route,
)
from loyalty_shared.http.problems import Problem, problem_response

#: Headers about one connection (RFC 9110 7.6.1), not the message: never passed on.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: A request's host and length are the new connection's own (httpx sets them).
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}


def _passed_on(headers: list[tuple[str, str]], dropped: frozenset[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in dropped]


KINDS = {404: "not-found", 429: "rate-limited"}


def _problem(
    status: int, title: str, detail: str, path: str, retry_after: int | None = None
) -> JSONResponse:
    retry = retry_after if retry_after is not None else 5 if status == 503 else None
    return problem_response(
        Problem(
            type=f"urn:loyalty:problem:{KINDS.get(status, 'unavailable')}",
            title=title,
            status=status,
            detail=detail,
            instance=path,
        ),
        {"Retry-After": str(retry)} if retry is not None else None,
    )


def create_app(
    upstreams: Mapping[str, str],
    *,
    operator_paths: bool = False,
    rate_limits: Sequence[RateLimit] = RATE_LIMITS,
) -> FastAPI:
    """`upstreams`: each service's base URL (`{"points": "http://127.0.0.1:8001", ...}`);
    `operator_paths`: serve the internal host's paths too (development only)."""
    bases = {name: url.rstrip("/") for name, url in upstreams.items()}
    serving: Host = "internal" if operator_paths else "public"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            app.state.client = client
            app.state.limits = ClientLimits(rate_limits)
            yield

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def proxy(request: Request) -> Response:
        path, method = request.url.path, request.method
        rule = route(method, path, serving)
        if rule is None:
            why = (
                f"{method} {path} is an operators' endpoint: it is on the internal host "
                f"{INTERNAL_HOST}, not the public one (this gateway serves it only with "
                "LOYALTY_GATEWAY_OPERATOR_PATHS=true, as `make run` sets)"
                if host_of(method, path) == "internal"
                else "no service answers this path on the gateway"
            )
            return _problem(404, "Not Found", why, path)
        if rule.host == "public":
            limits: ClientLimits = request.app.state.limits
            caller = request.client.host if request.client else "unknown"
            if spent := await limits.retry_after(caller, method, path):
                name, seconds = spent
                detail = f"too many requests from this client ({name}): try again in {seconds}s"
                return _problem(429, "Too Many Requests", detail, path, seconds)
        raw_path = request.scope.get("raw_path", path.encode()).decode("latin-1")
        url = bases[rule.service] + rule.upstream_path(raw_path)
        if query := request.scope.get("query_string", b""):
            url += "?" + query.decode("latin-1")
        client: httpx.AsyncClient = request.app.state.client
        try:
            upstream = await client.send(
                client.build_request(
                    request.method,
                    url,
                    headers=_passed_on(request.headers.items(), NOT_FORWARDED),
                    content=await request.body(),
                    timeout=rule.timeout_s,
                ),
                stream=True,
            )
            try:
                body = b"".join([chunk async for chunk in upstream.aiter_raw()])
            finally:
                await upstream.aclose()
        except httpx.ConnectError:
            detail = f"the {rule.service} service is not answering at {bases[rule.service]}"
            return _problem(503, "Service Unavailable", detail, path)
        except httpx.TimeoutException:
            detail = f"the {rule.service} service did not answer within {rule.timeout_s}s"
            return _problem(504, "Gateway Timeout", detail, path)
        except httpx.HTTPError as exc:
            detail = f"the {rule.service} service's answer broke off: {type(exc).__name__}"
            return _problem(502, "Bad Gateway", detail, path)
        headers = _passed_on(upstream.headers.multi_items(), HOP_BY_HOP)
        if "content-length" not in upstream.headers:  # it was chunked: the length is known now
            headers.append(("content-length", str(len(body))))
        response = Response(body, status_code=upstream.status_code)
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return response

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.add_route("/healthz", healthz, methods=["GET"])
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app.add_route("/{path:path}", proxy, methods=methods)
    return app
