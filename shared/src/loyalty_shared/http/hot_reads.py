"""The app's most frequent request (a member's balance) answered before FastAPI when nothing about
it is unusual; anything else goes on to the FastAPI route, which alone refuses and documents it
(docs/architecture.md#http)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from loyalty_shared.db import Pool
from loyalty_shared.db.errors import is_transient
from loyalty_shared.http.auth import is_member_id
from loyalty_shared.http.problems import Unauthorized, database_away
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.runtime import runtime_of

log = get_logger(__name__)

#: The JSON body of the 200 for `member_id`, read from the pool.
Answer = Callable[[Pool, str], Awaitable[bytes]]


@dataclass(frozen=True)
class HotRead:
    """`GET <path>`, where `path` is a route template holding `{member_id}` once."""

    path: str
    answer: Answer

    def pattern(self) -> re.Pattern[str]:
        before, _, after = self.path.partition("{member_id}")
        return re.compile(f"{re.escape(before)}([^/]+){re.escape(after)}")


@dataclass(frozen=True)
class _Template:
    """What the router would have put in `scope["route"]`: metrics label by the template."""

    path: str


class HotReads:
    def __init__(self, app: ASGIApp, *, reads: Sequence[HotRead]) -> None:
        self._app = app
        self._reads = [(read.pattern(), read.answer, _Template(read.path)) for read in reads]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
            and not scope.get("root_path")
        ):
            for pattern, answer, template in self._reads:
                matched = pattern.fullmatch(scope["path"])
                if matched is not None:
                    response = await self._answer(scope, matched.group(1), answer)
                    if response is not None:
                        scope["route"] = template
                        await response(scope, receive, send)
                        return
                    break
        await self._app(scope, receive, send)

    @staticmethod
    async def _answer(scope: Scope, member_id: str, answer: Answer) -> Response | None:
        """The answer, or None for the app to answer (and to refuse) the request."""
        if not is_member_id(member_id):
            return None
        token = _bearer_token_of_bodiless(scope["headers"])
        if token is None:
            return None
        runtime = runtime_of(scope["app"])
        try:
            principal = await runtime.tokens.verify(token)
        except Unauthorized:
            return None
        if principal.subject != member_id:
            return None
        try:
            return Response(await answer(runtime.pool, member_id), media_type="application/json")
        except Exception as exc:  # noqa: BLE001 - answered as below, never swallowed
            if is_transient(exc):
                # The app's own answer, without asking a struggling database a second time.
                return database_away(scope["path"])
            # Anything else the route answers (and its handlers turn into a problem document).
            log.warning("hot read failed; the app answers it", error=repr(exc))
            return None


def _bearer_token_of_bodiless(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The credentials of `Authorization: Bearer <token>`, read with the function FastAPI's
    `HTTPBearer` uses; None for anything else, and for a request that sends a body (the app's
    body limit has its say on those)."""
    token = None
    for name, value in headers:
        if name == b"authorization" and token is None:
            scheme, credentials = get_authorization_scheme_param(value.decode("latin-1"))
            if scheme.lower() != "bearer" or not credentials:
                return None
            token = credentials
        elif (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
            return None
    return token
