"""JWTs for tests: valid, expired, forged, admin, and the other operator scopes."""

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
    scopes: tuple[str, ...] = (),
    expires_in: int = LIFETIME_S,
    secret: str = SECRET,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "iat": now, "exp": now + expires_in}
    granted = (*scopes, ADMIN_SCOPE) if admin else scopes
    if granted:
        claims["scope"] = " ".join(("openid", *granted))
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(sub: str, *, admin: bool = False, scopes: tuple[str, ...] = ()) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, admin=admin, scopes=scopes)}"}
