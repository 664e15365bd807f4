"""Tokens for local development, signed with the local HS256 secret."""

from __future__ import annotations

import time

import jwt

from loyalty_shared.http.auth import ADMIN_SCOPE

#: Used by `make run` when LOYALTY_JWT_SECRET is not set. Never valid anywhere but a laptop.
LOCAL_JWT_SECRET = "local-development-only-secret-0123456789abcdef"  # noqa: S105


def make_token(
    member_id: str, *, admin: bool = False, secret: str = LOCAL_JWT_SECRET, ttl_s: int = 86_400
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": member_id, "iat": now, "exp": now + ttl_s}
    if admin:
        claims["scope"] = ADMIN_SCOPE
    return jwt.encode(claims, secret, algorithm="HS256")
