"""What makes a service's OpenAPI document good for generating clients from it: short operation
ids (`getPoints`, not `get_points_v1_members__member_id__points_get`), a 503 on every operation
that reaches the database, headers the endpoint refuses to do without marked `required`, and
a title of its own for each of a model's `-Input` and `-Output` schemas (`ProgramInput`).
The problem responses point at one `Problem` component (http/problems.py), and each operation's
security requirement names the scopes it admits (http/auth.py `ADMITS`) and its description
says whom. Every request and response model carries its own `examples` (`json_schema_extra`),
kept here with their nulls."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi._compat import get_definitions, get_flat_models_from_fields, get_model_name_map
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_fields_from_routes
from fastapi.routing import APIRoute, iter_route_contexts

from loyalty_shared.http.auth import ADMIN_SCOPE, Admits, admits_of
from loyalty_shared.http.db import DATABASE_DEPENDENCIES
from loyalty_shared.http.problems import problem_response_doc

#: In a header parameter's `json_schema_extra`: documented as required although the endpoint
#: receives None when it is missing, because it answers that case itself with a problem of its
#: own (`Idempotency-Key`: 400 `idempotency-key-required`) rather than FastAPI's 422.
REQUIRED_IN_OPENAPI = "x-loyalty-required"

DATABASE_AWAY = {
    **problem_response_doc(
        503, "Service unavailable: the service's database is not reachable; try again shortly"
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before sending the request again",
            "schema": {"type": "integer"},
        }
    },
}


def operation_id(route: APIRoute) -> str:
    """The route function's name in camelCase: `get_points` -> `getPoints` (FastAPI's
    `generate_unique_id_function`; an `operation_id=` on the route still wins)."""
    first, *rest = route.name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def _reaches_the_database(dependant: Dependant) -> bool:
    return any(
        dependency.call in DATABASE_DEPENDENCIES or _reaches_the_database(dependency)
        for dependency in dependant.dependencies
    )


def _required_header(parameter: dict[str, Any]) -> None:
    schema = parameter.get("schema", {})
    if parameter.get("in") != "header" or not schema.pop(REQUIRED_IN_OPENAPI, False):
        return
    parameter["required"] = True
    # `str | None` in the code: the header, when sent, is the string
    variants = [s for s in schema.pop("anyOf", []) if s.get("type") != "null"]
    if len(variants) == 1:
        schema.update(variants[0])


def _title_twins(document: dict[str, Any]) -> None:
    """FastAPI's `X-Input` and `X-Output` schemas (a model both read and answered, its decimals
    a number or a string coming in and a string going out) are both titled `X`, and a generator
    makes one class per title: they are titled `XInput` and `XOutput`."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        base, _, side = name.rpartition("-")
        if side in ("Input", "Output") and schema.get("title") == base:
            schema["title"] = f"{base}{side}"


def _example_nulls(app: FastAPI, document: dict[str, Any]) -> None:
    """The models' own `examples` as they are written: FastAPI drops every None from the
    document it builds, examples included, and an example without the `null` of a required
    nullable field (`"replayed_at": null`) is not valid against its schema."""
    fields = get_fields_from_routes(app.routes)
    names = get_model_name_map(get_flat_models_from_fields(fields, known_models=set()))
    _, definitions = get_definitions(
        fields=fields,
        model_name_map=names,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        examples = definitions.get(name, {}).get("examples")
        if isinstance(examples, list):
            schema["examples"] = copy.deepcopy(examples)


def document_operations(app: FastAPI) -> None:
    """Amend the app's document, once, when first built: every operation says whom it admits,
    the 503 of a database away (with `Retry-After`, as the problem handlers answer it) when it
    reaches the database, and which headers it requires."""
    build = app.openapi
    done = False

    def openapi() -> dict[str, Any]:
        nonlocal done
        document = build()
        if not done:
            done = True
            for context in iter_route_contexts(app.routes):
                route = context.original_route
                if not isinstance(route, APIRoute) or not route.include_in_schema:
                    continue
                admits = admits_of(route.dependant)
                database = _reaches_the_database(route.dependant)
                for method in context.methods or ():
                    operation = document["paths"][context.path_format][method.lower()]
                    if admits is not None:
                        _access(operation, admits)
                    if database:
                        operation["responses"].setdefault("503", DATABASE_AWAY)
                    for parameter in operation.get("parameters", ()):
                        _required_header(parameter)
            _title_twins(document)
            _example_nulls(app, document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _access(operation: dict[str, Any], admits: Admits) -> None:
    """The scopes in the security requirement (OpenAPI 3.1 allows role names there for any
    scheme) and a line of the description; a member's own endpoints take any valid token (then
    the path decides)."""
    scopes = [] if admits.member else [*admits.scopes, ADMIN_SCOPE]
    operation["security"] = [{"HTTPBearer": scopes}]
    who = f"**Who:** {admits.describe()}."
    text = operation.get("description")
    operation["description"] = f"{text}\n\n{who}" if text else who
