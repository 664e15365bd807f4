"""Tokens for local development, signed with the local HS256 secret."""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt

from loyalty_shared.http.auth import ADMIN_SCOPE
from loyalty_shared.settings import DEVELOPMENT_JWT_SECRET

#: Used by `make run` when LOYALTY_JWT_SECRET is not set. The services refuse it unless
#: LOYALTY_ENVIRONMENT=development: never valid anywhere but a laptop.
LOCAL_JWT_SECRET = DEVELOPMENT_JWT_SECRET


def make_token(
    member_id: str,
    *,
    admin: bool = False,
    scopes: Sequence[str] = (),
    secret: str = LOCAL_JWT_SECRET,
    ttl_s: int = 86_400,
) -> str:
    """`member_id` is the token's `sub` (an operator's id for an operator token); `scopes` the
    operator roles it carries (`admin` adds `loyalty:admin`)."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": member_id, "iat": now, "exp": now + ttl_s}
    granted = [*scopes, ADMIN_SCOPE] if admin else list(scopes)
    if granted:
        claims["scope"] = " ".join(dict.fromkeys(granted))
    return jwt.encode(claims, secret, algorithm="HS256")
