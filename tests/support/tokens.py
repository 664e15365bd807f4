"""JWTs for tests: valid, expired, forged, admin."""

from __future__ import annotations

import time

import jwt

SECRET = "test-secret-that-is-long-enough-0123456789"
ADMIN_SCOPE = "loyalty:admin"


#: Long enough for the whole suite: tests build headers once at import (`ADMIN = bearer(...)`),
#: and the suite runs for many minutes on a busy machine.
LIFETIME_S = 24 * 3600


def token(
    sub: str,
    *,
    admin: bool = False,
    scope: str | None = None,
    expires_in: int = LIFETIME_S,
    secret: str = SECRET,
) -> str:
    """`scope`: an operator role (`loyalty:marketing`, ...) besides or instead of admin."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "iat": now, "exp": now + expires_in}
    scopes = [*([ADMIN_SCOPE] if admin else []), *([scope] if scope else [])]
    if scopes:
        claims["scope"] = " ".join(["openid", *scopes])
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(sub: str, **kwargs: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, **kwargs)}"}  # type: ignore[arg-type]
