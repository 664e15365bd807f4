"""The local gateway: one port in front of the four services, routing each public path as the
Kubernetes HTTPRoute does (the same table, `routes.py`). A small buffering reverse proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from loyalty_devkit.gateway.routes import operator_only, route
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


def _problem(status: int, title: str, detail: str, path: str) -> JSONResponse:
    kind = "not-found" if status == 404 else "unavailable"
    return problem_response(
        Problem(
            type=f"urn:loyalty:problem:{kind}",
            title=title,
            status=status,
            detail=detail,
            instance=path,
        ),
        {"Retry-After": "5"} if status == 503 else None,
    )


def create_app(upstreams: Mapping[str, str]) -> FastAPI:
    """`upstreams`: each service's base URL (`{"points": "http://127.0.0.1:8001", ...}`)."""
    bases = {name: url.rstrip("/") for name, url in upstreams.items()}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            app.state.client = client
            yield

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def proxy(request: Request) -> Response:
        path = request.url.path
        rule = route(path)
        if rule is None:
            why = (
                "operators' paths are not on the public gateway (as in Kubernetes): use the "
                "console or the service's own port"
                if operator_only(path)
                else "no service answers this path on the gateway"
            )
            return _problem(404, "Not Found", why, path)
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
