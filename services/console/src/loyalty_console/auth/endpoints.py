"""Signing in and out: OpenID Connect (authorization code with PKCE, through Authlib) against the
configured issuer, or, on a developer's machine only, by picking a role. Either way the console
keeps the operator's access token in the encrypted session and calls the services with it."""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from authlib.integrations.starlette_client import OAuthError
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from loyalty_console.auth.csrf import check_csrf
from loyalty_console.auth.operator import Operator
from loyalty_console.i18n.formatting import LANGUAGES, is_zone
from loyalty_console.web import ConsoleState, State, render
from loyalty_shared.http.auth import OPERATOR_SCOPES
from loyalty_shared.http.problems import Forbidden, ProblemError, Unauthorized

router = APIRouter(dependencies=[Depends(check_csrf)])

#: The development sign-in's roles, as the picker offers them.
DEV_ROLES = ("support", "marketing", "finance", "admin")
#: What the session keeps across a sign-in (everything else is dropped).
KEPT = ("lang", "tz")


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this console, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _sign_in(request: Request, state: ConsoleState, token: str, name: str | None) -> Operator:
    principal = await state.verifier.verify(token)
    scopes = principal.scopes & set(OPERATOR_SCOPES)
    if not scopes:
        raise Forbidden("your account holds no console role (support, marketing, finance, admin)")
    expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    operator = Operator(
        subject=principal.subject,
        name=name or principal.subject,
        scopes=frozenset(scopes),
        token=token,
        expires_at=expires,
    )
    kept = {key: request.session[key] for key in KEPT if key in request.session}
    request.session.clear()  # a new session for the new operator (and a new CSRF token)
    request.session.update(kept, operator=operator.as_session())
    return operator


def _remember_zone(request: Request, tz: str | None) -> None:
    if tz and "tz" not in request.session and is_zone(tz):
        request.session["tz"] = tz


@router.get("/sign-in", include_in_schema=False)
async def sign_in_page(request: Request, state: State, next: str = "/") -> Response:
    return render(
        request,
        state,
        "sign_in.html",
        next=local_path(next),
        oidc=state.oidc is not None,
        roles=DEV_ROLES,
    )


@router.get("/sign-in/oidc", include_in_schema=False)
async def sign_in_oidc(
    request: Request,
    state: State,
    next: str = "/",
    tz: str | None = None,
) -> Response:
    if state.oidc is None:
        raise ProblemError("single sign-on is not configured on this console")
    _remember_zone(request, tz)
    request.session["next"] = local_path(next)
    base = state.settings.console_public_url or str(request.base_url)
    redirect: Response = await state.oidc.authorize_redirect(
        request, base.rstrip("/") + "/auth/callback"
    )
    return redirect


@router.get("/auth/callback", include_in_schema=False)
async def oidc_callback(request: Request, state: State) -> Response:
    if state.oidc is None:
        raise ProblemError("single sign-on is not configured on this console")
    try:
        token: dict[str, Any] = await state.oidc.authorize_access_token(request)
    except OAuthError as exc:
        raise Unauthorized(f"the sign-in did not complete: {exc.error}") from None
    claims: dict[str, Any] = token.get("userinfo") or {}
    name = claims.get("name") or claims.get("preferred_username")
    target = local_path(request.session.get("next"))
    await _sign_in(request, state, str(token["access_token"]), name)
    return RedirectResponse(target, status_code=303)


@router.post("/sign-in/dev", include_in_schema=False)
async def sign_in_dev(
    request: Request,
    state: State,
    role: Annotated[str, Form()],
    name: Annotated[str, Form(max_length=64)] = "",
    tz: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings = state.settings
    if not settings.console_dev_sign_in or settings.jwt_secret is None:
        raise Forbidden("the development sign-in is off on this console")
    if role not in DEV_ROLES:
        raise ProblemError(f"role must be one of {', '.join(DEV_ROLES)}")
    subject = name.strip() or f"dev-{role}"
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": subject,
            "iat": now,
            "exp": now + settings.console_dev_token_ttl_s,
            "scope": f"loyalty:{role}",
        },
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    _remember_zone(request, tz)
    await _sign_in(request, state, token, subject)
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    kept = {key: request.session[key] for key in KEPT if key in request.session}
    request.session.clear()
    request.session.update(kept)
    return RedirectResponse("/sign-in", status_code=303)


@router.post("/preferences", include_in_schema=False)
async def preferences(
    request: Request,
    lang: Annotated[str | None, Form()] = None,
    tz: Annotated[str | None, Form()] = None,
    back: Annotated[str, Form()] = "/",
) -> Response:
    if lang in LANGUAGES:
        request.session["lang"] = lang
    if tz and is_zone(tz):
        request.session["tz"] = tz
    return RedirectResponse(local_path(back), status_code=303)
