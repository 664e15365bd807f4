"""CSRF protection on every form: a random token kept in the (encrypted) session, sent back in
each form's hidden `csrf_token` field or, from htmx, in the `X-CSRF-Token` header. Together with
the SameSite=Lax cookie, a page on another site cannot make an operator's browser act."""

from __future__ import annotations

import secrets

from fastapi import Request

from loyalty_shared.http.problems import Forbidden

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(request: Request) -> str:
    """The session's token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request) -> None:
    """A dependency on every router: unsafe methods must carry the session's token."""
    if request.method in _SAFE:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or sent is None or not secrets.compare_digest(expected, sent):
        raise Forbidden("the form's security token is missing or stale: reload the page")
