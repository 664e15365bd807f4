"""The console's typed state and how a page is rendered: the template plus what every page
needs (the operator and what they may do, their language and time zone, the CSRF token)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Annotated, Any

from authlib.integrations.starlette_client import StarletteOAuth2App
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from loyalty_console.auth.csrf import FIELD, HEADER, csrf_token
from loyalty_console.auth.operator import Can, Operator
from loyalty_console.i18n.formatting import TIME_ZONES, Formatter, pick_language, zone_or
from loyalty_console.platform.client import Answer, Platform
from loyalty_console.settings import ConsoleSettings
from loyalty_shared.http.auth import TokenVerifier
from loyalty_shared.http.state import state_of

HTMX = "htmx-2.0.11.min.js"
PLOTLY_VERSION = version("plotly")


@dataclass(frozen=True)
class ConsoleState:
    settings: ConsoleSettings
    platform: Platform
    templates: Environment
    verifier: TokenVerifier
    #: The identity provider's client, when OIDC is configured.
    oidc: StarletteOAuth2App | None


def console_state(request: Request) -> ConsoleState:
    return state_of(request, ConsoleState)


State = Annotated[ConsoleState, Depends(console_state)]


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("loyalty_console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        # optional fields of the services' answers may be absent: they show as nothing
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        htmx=HTMX,
        plotly_version=PLOTLY_VERSION,
        csrf_field=FIELD,
        csrf_header=HEADER,
        time_zones=TIME_ZONES,
    )
    return env


def formatter(request: Request, settings: ConsoleSettings) -> Formatter:
    language = pick_language(request.session.get("lang"), request.headers.get("accept-language"))
    zone = zone_or(request.session.get("tz"), settings.console_default_time_zone)
    return Formatter(language, zone)


def flash(request: Request, ok: bool, message: str) -> None:
    """A result shown once, on the next page (after the redirect that follows an action)."""
    request.session["flash"] = {"ok": ok, "message": message}


def flash_outcome(request: Request, answer: Answer, fmt: Formatter, done: str) -> None:
    """`done` when the service did it; otherwise what it said (each problem of a 422), or that
    this version of the platform does not offer it yet."""
    if answer.ok:
        flash(request, True, done)
        return
    if answer.not_offered:
        detail = fmt.t("action.not_offered")
    else:
        errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
        listed = "; ".join(f"{e['location']}: {e['message']}" for e in errors or [])
        detail = listed or answer.detail or str(answer.status)
    flash(request, False, fmt.t("action.failed", detail=detail))


def take_flash(request: Request) -> dict[str, Any] | None:
    found = request.session.pop("flash", None)
    return found if isinstance(found, dict) else None


def render(
    request: Request,
    state: ConsoleState,
    template: str,
    *,
    operator: Operator | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page, or a fragment of one (an htmx answer): the template with what every page needs."""
    values = {
        "request": request,
        "operator": operator,
        "can": Can(operator) if operator else None,
        "fmt": formatter(request, state.settings),
        "csrf": csrf_token(request),
        "dev_sign_in": state.settings.console_dev_sign_in,
        "path": request.url.path,
        **context,
    }
    html = state.templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
