"""A tiny OpenID Connect provider for tests, served over real HTTP: discovery, the authorization
endpoint (it signs in one configured person at once, as an identity provider with an open session
would), the token endpoint (authorization code with PKCE S256 only) and its keys. Tokens are
RS256 JWTs signed with joserfc, Authlib's JOSE library: the access token carries the person's
operator scopes, the ID token the client's nonce."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, HTTPException
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from loyalty_devkit.local_broker import free_port
from tests.support.apps import served


@dataclass
class Person:
    sub: str
    name: str
    scopes: tuple[str, ...]


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    scope: str


@dataclass
class OidcProvider:
    issuer: str
    client_id: str = "loyalty-console"
    #: The APIs' audience, in every access token (the services require it with JWKS).
    api_audience: str = "loyalty-api"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    person: Person = field(default_factory=lambda: Person("alice", "Alice", ("loyalty:support",)))
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(
            2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"}
        )
    )
    #: What the provider saw, for the tests to check.
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _grants: dict[str, Grant] = field(default_factory=dict)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        async def authorize(
            client_id: str,
            redirect_uri: str,
            response_type: str,
            state: str,
            scope: str = "",
            nonce: str | None = None,
            code_challenge: str | None = None,
            code_challenge_method: str | None = None,
        ) -> RedirectResponse:
            self.authorizations.append(
                {
                    "client_id": client_id,
                    "redirect_uri": redirect_uri,
                    "scope": scope,
                    "state": state,
                    "nonce": nonce or "",
                    "code_challenge": code_challenge or "",
                    "code_challenge_method": code_challenge_method or "",
                }
            )
            if client_id != self.client_id or response_type != "code":
                raise HTTPException(400, "unknown client or response type")
            if code_challenge is None or code_challenge_method != "S256":
                raise HTTPException(400, "PKCE with S256 is required")
            code = secrets.token_urlsafe(16)
            self._grants[code] = Grant(client_id, redirect_uri, code_challenge, nonce, scope)
            return RedirectResponse(
                f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302
            )

        @app.post("/token")
        async def token(
            grant_type: Annotated[str, Form()],
            code: Annotated[str, Form()],
            redirect_uri: Annotated[str, Form()],
            code_verifier: Annotated[str, Form()] = "",
            authorization: Annotated[str, Header()] = "",
        ) -> JSONResponse:
            self.token_requests.append({"code": code, "code_verifier": code_verifier})
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode())
            grant = self._grants.pop(code, None)
            if authorization != f"Basic {expected.decode()}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            if grant_type != "authorization_code" or grant is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != grant.challenge or redirect_uri != grant.redirect_uri:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            person = self.person
            access = self.sign(
                {
                    "iss": self.issuer,
                    "sub": person.sub,
                    "aud": self.api_audience,
                    "iat": now,
                    "exp": now + 600,
                    "scope": " ".join(("openid", *person.scopes)),
                }
            )
            identity = self.sign(
                {
                    "iss": self.issuer,
                    "sub": person.sub,
                    "aud": self.client_id,
                    "iat": now,
                    "exp": now + 600,
                    "nonce": grant.nonce,
                    "name": person.name,
                }
            )
            return JSONResponse(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "id_token": identity,
                    "scope": grant.scope,
                }
            )

        return app


@asynccontextmanager
async def running_provider() -> AsyncIterator[OidcProvider]:
    """The provider on a free port of 127.0.0.1, for the duration of the block."""
    port = free_port()
    provider = OidcProvider(issuer=f"http://127.0.0.1:{port}")
    async with served(provider.app(), port):
        yield provider
