"""Request bodies above `LOYALTY_HTTP_MAX_BODY_BYTES` are refused with a 413 problem document
before any handler runs: a declared `Content-Length` at once, a chunked body at the read that
crosses the limit (docs/architecture.md#http)."""

from __future__ import annotations

from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loyalty_shared.http.problems import Problem, problem_response

#: The same title the problem handler gives a 413 raised while the body is read.
TITLE = HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase


def _detail(max_bytes: int) -> str:
    return f"the request body is larger than {max_bytes} bytes"


class LimitRequestBody:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            problem = Problem(
                title=TITLE, status=413, detail=_detail(self.max_bytes), instance=scope["path"]
            )
            await problem_response(problem, {"Connection": "close"})(scope, receive, send)
            return

        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, _detail(self.max_bytes))
            return message

        await self.app(scope, counted, send)
