"""RFC 9457 problem details: every error any service returns has this one shape."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from loyalty_shared.db.errors import is_transient

PROBLEM_JSON = "application/problem+json"
#: Where every problem response of an OpenAPI document points: one component, not a copy each.
PROBLEM_REF = "#/components/schemas/Problem"


class InvalidField(BaseModel):
    """One thing wrong with a request: where (`body.points`, `query.limit`) and what."""

    location: str
    message: str


class Problem(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:loyalty:problem:insufficient-points",
                    "title": "Insufficient points",
                    "status": 409,
                    "detail": "Member m-1001 has 120 points available; 500 were asked for",
                    "instance": "/v1/members/m-1001/redemptions",
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    #: On a 422 for a request of the wrong shape: each field that is wrong.
    errors: list[InvalidField] | None = None


class ProblemError(Exception):
    """A domain error that knows its HTTP status; subclass it per case (`InsufficientPoints`)."""

    status: int = 400
    title: str = "Bad request"
    type: str = "about:blank"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        #: Sent with the answer (`Retry-After` on a 429).
        self.headers = headers


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"
    type = "urn:loyalty:problem:unauthorized"


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"
    type = "urn:loyalty:problem:forbidden"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def database_away(path: str) -> JSONResponse:
    """The database unreachable (down, restarting, failing over): the request may be sent again
    in a moment."""
    return problem_response(
        Problem(
            type="urn:loyalty:problem:unavailable",
            title="Service unavailable",
            status=503,
            detail="the service's database is not reachable; try again shortly",
            instance=path,
        ),
        {"Retry-After": "5"},
    )


def problem_response_doc(status: int, description: str | None = None) -> dict[str, Any]:
    """One OpenAPI response: a problem document (`#/components/schemas/Problem`)."""
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: the problem statuses it can answer (and 422, which any route
    with parameters can), documented in OpenAPI as `application/problem+json`, each pointing at
    the one `Problem` component (added to the document by `install_problem_handlers`)."""
    return {status: problem_response_doc(status) for status in sorted({*statuses, 422})}


def problem_schemas() -> dict[str, dict[str, Any]]:
    """`Problem` and what it refers to, as `components.schemas` entries."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, dict[str, Any]] = schema.pop("$defs", {})
    return {**schemas, "Problem": schema}


def _document_edge_answers(app: FastAPI) -> None:
    """Every operation that takes a body documents what is answered before its code runs: 400
    for a body that cannot be read at all (bytes that are not UTF-8: FastAPI's answer) and 413
    for one over `LOYALTY_HTTP_MAX_BODY_BYTES`; and the `Problem` component every problem
    response refers to is in the document. The document is built on first use, with every
    router included by then."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()  # cached by FastAPI: changed in place once
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem_schemas())
            edge = problem_responses(400, 413)
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        for status in (400, 413):
                            operation["responses"].setdefault(str(status), edge[status])
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else exc.headers
        return problem_response(
            Problem(
                type=exc.type,
                title=exc.title,
                status=exc.status,
                detail=exc.detail,
                instance=request.url.path,
            ),
            headers,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(
            Problem(
                title=HTTPStatus(exc.status_code).phrase,
                status=exc.status_code,
                detail=str(exc.detail) if exc.detail else None,
                instance=request.url.path,
            ),
            dict(exc.headers) if exc.headers else None,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            InvalidField(location=".".join(str(p) for p in e["loc"]), message=e["msg"])
            for e in exc.errors()
        ]
        return problem_response(
            Problem(
                type="urn:loyalty:problem:invalid-request",
                title="Invalid request",
                status=422,
                detail="; ".join(f"{e.location}: {e.message}" for e in errors[:5]),
                instance=request.url.path,
                errors=errors,
            )
        )

    async def on_unstorable_text(request: Request, exc: Exception) -> JSONResponse:
        # A NUL character (or text that is not UTF-8) reaches PostgreSQL, which cannot store
        # it in any text or JSON column: the input's fault, whichever field it came in. The
        # request's transaction has rolled back by now.
        return problem_response(
            Problem(
                type="urn:loyalty:problem:invalid-request",
                title="Invalid request",
                status=422,
                detail="the request holds text that cannot be stored (a NUL character?)",
                instance=request.url.path,
            )
        )

    async def on_database_away(request: Request, exc: Exception) -> JSONResponse:
        # Anything of these types that is not the database away is a bug, and stays a 500.
        if not is_transient(exc):
            raise exc
        return database_away(request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    for away in (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresError):
        app.add_exception_handler(away, on_database_away)
    app.add_exception_handler(asyncpg.CharacterNotInRepertoireError, on_unstorable_text)
    app.add_exception_handler(asyncpg.UntranslatableCharacterError, on_unstorable_text)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    _document_edge_answers(app)
