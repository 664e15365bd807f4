"""The console's app: server-rendered pages (Jinja2, htmx for the parts that change in place,
Plotly for charts, all served from here), the encrypted session, sign-in, and the pages, each
reading the four services' APIs with the operator's token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib.resources import files
from pathlib import Path

import httpx
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loyalty_console.auth import endpoints as auth
from loyalty_console.auth.operator import Operator, SignInRequired
from loyalty_console.auth.session import EncryptedSession
from loyalty_console.dead_letters import endpoints as dead_letters
from loyalty_console.feedback import endpoints as feedback
from loyalty_console.loyalty import endpoints as loyalty
from loyalty_console.members import endpoints as members
from loyalty_console.overview import endpoints as overview
from loyalty_console.platform.client import CALLS, Platform
from loyalty_console.program import endpoints as program
from loyalty_console.rewards import endpoints as rewards
from loyalty_console.settings import ConsoleSettings
from loyalty_console.web import PLOTLY_VERSION, ConsoleState, console_state, render, templates
from loyalty_shared.http.auth import TokenVerifier
from loyalty_shared.http.observe import ObserveRequests
from loyalty_shared.http.problems import ProblemError
from loyalty_shared.http.state import attach_state
from loyalty_shared.observability import tracing

#: Scripts, styles and charts come from this console only; no page may be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
            await send(message)

        await self._app(scope, receive, sending if scope["type"] == "http" else send)


class ServerTiming:
    """`Server-Timing` on every answer: `app;dur=<ms>`, how long the console took for the page
    (its calls to the services included), then each call it made (`points;dur=<ms>`, ...):
    shown by browsers' developer tools, read by bench/console_pages.py."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        calls: list[tuple[str, float]] = []
        token = CALLS.set(calls)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                timings = [f"app;dur={took:.1f}"]
                timings += [f"{service};dur={ms:.1f}" for service, ms in calls]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", ", ".join(timings).encode()),
                ]
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            CALLS.reset(token)


def _oidc(settings: ConsoleSettings) -> StarletteOAuth2App | None:
    if settings.console_oidc_issuer is None:
        return None
    oauth = OAuth()
    secret = settings.console_oidc_client_secret
    client: StarletteOAuth2App = oauth.register(
        "idp",
        client_id=settings.console_oidc_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        server_metadata_url=(
            settings.console_oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        ),
        client_kwargs={
            "scope": settings.console_oidc_scopes,
            "code_challenge_method": "S256",
            "timeout": settings.console_api_timeout_s,
        },
    )
    return client


def create_app(settings: ConsoleSettings) -> FastAPI:
    traces = tracing.Tracing.for_service("console")
    client = httpx.AsyncClient(
        timeout=settings.console_api_timeout_s,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=40),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing.CURRENT.set(traces)
        try:
            yield
        finally:
            await client.aclose()
            await asyncio.to_thread(traces.shutdown)

    app = FastAPI(
        title="Loyalty console",
        description="The operator console (server-rendered pages); no JSON API of its own.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    attach_state(
        app,
        ConsoleState(
            settings=settings,
            platform=Platform(
                client, settings.service_urls, report_ttl_s=settings.console_report_ttl_s
            ),
            templates=templates(),
            verifier=TokenVerifier(settings),
            oidc=_oidc(settings),
        ),
    )
    _install_error_pages(app)
    app.add_middleware(
        EncryptedSession,
        key=settings.session_key(),
        idle_s=settings.console_session_idle_s,
        secure=settings.console_secure_cookie,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ServerTiming)
    app.add_middleware(ObserveRequests, service="console", traces=traces)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        # The console holds no connection of its own: each page says which service is away.
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get(f"/static/plotly-{PLOTLY_VERSION}.min.js", include_in_schema=False)
    async def plotly_js() -> FileResponse:
        # From the plotly wheel; the version is in the URL, so browsers keep it for good.
        return FileResponse(
            PLOTLY_JS,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    app.mount("/static", StaticFiles(packages=[("loyalty_console", "static")]), name="static")
    for router in (
        auth.router,
        overview.router,
        members.router,
        program.router,
        rewards.router,
        feedback.router,
        loyalty.router,
        dead_letters.router,
    ):
        app.include_router(router)
    return app


def _install_error_pages(app: FastAPI) -> None:
    async def on_sign_in_required(request: Request, exc: Exception) -> Response:
        target = "/sign-in?next=" + request.url.path
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return _error_page(request, exc.status, exc.detail or exc.title)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _error_page(request, exc.status_code, HTTPStatus(exc.status_code).phrase)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()[:5]
        )
        return _error_page(request, 422, detail)

    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)


def _error_page(request: Request, status: int, detail: str) -> Response:
    state = console_state(request)
    operator = Operator.from_session(request.session.get("operator"))
    return render(
        request,
        state,
        "error.html",
        operator=operator,
        status_code=status,
        status=status,
        detail=detail,
    )
