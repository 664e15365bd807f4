"""The session: an encrypted cookie (Fernet: AES-CBC with an HMAC) holding the signed-in
operator, their token and their CSRF token, so any number of console replicas serve any request
and nothing is stored server-side. `request.session` is the decrypted dict (Starlette's and
Authlib's interface); the cookie is rewritten when it changes, or when half its idle time has
passed, and is HttpOnly, SameSite=Lax and Secure (unless told otherwise for plain-HTTP local
development). A cookie that does not decrypt, or is older than the idle time, is an empty
session."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "loyalty_console"


class EncryptedSession:
    def __init__(self, app: ASGIApp, *, key: bytes, idle_s: int, secure: bool) -> None:
        self._app = app
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._idle_s = idle_s
        self._attributes = f"Path=/; HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        initial, written_at = self._read(HTTPConnection(scope).cookies.get(COOKIE))
        scope["session"] = dict(initial)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: dict[str, Any] = scope["session"]
                stale = written_at is not None and time.time() - written_at > self._idle_s / 2
                if session != initial or (session and stale):
                    self._write(MutableHeaders(scope=message), session)
            await send(message)

        await self._app(scope, receive, sending)

    def _read(self, cookie: str | None) -> tuple[dict[str, Any], float | None]:
        if not cookie:
            return {}, None
        try:
            token = cookie.encode()
            data = orjson.loads(self._fernet.decrypt(token, ttl=self._idle_s))
            written_at = float(self._fernet.extract_timestamp(token))
        except (InvalidToken, orjson.JSONDecodeError):
            return {}, None
        return (data, written_at) if isinstance(data, dict) else ({}, None)

    def _write(self, headers: MutableHeaders, session: dict[str, Any]) -> None:
        if session:
            value = self._fernet.encrypt(orjson.dumps(session)).decode()
            headers.append(
                "Set-Cookie", f"{COOKIE}={value}; Max-Age={self._idle_s}; {self._attributes}"
            )
        else:
            headers.append("Set-Cookie", f"{COOKIE}=; Max-Age=0; {self._attributes}")
