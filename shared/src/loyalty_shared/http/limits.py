"""Request bodies above `LOYALTY_HTTP_MAX_BODY_BYTES` (64 KiB by default) are refused with 413.

A plain ASGI middleware, so the limit holds for every route, including those that never read
their body (a `POST .../commit` sent 1 MB is refused before the handler runs, not after):

- a declared `Content-Length` over the limit is answered 413 at once, the app never called;
- a body without a length (chunked) is counted as it arrives, and the read that crosses the limit
  raises a 413 the problem handlers answer (the handler has not run: FastAPI reads the body
  before it calls the endpoint).

The answer is an RFC 9457 problem document like every other error. The largest legitimate body
(a simulated purchase with many items) is a few KiB, so 64 KiB leaves room; uvicorn itself has no
body limit, and a gateway in front may have a lower one.
"""

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
