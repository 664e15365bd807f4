"""The OpenAPI documents, the services' and the gateway's, show an example of every request and
every answer (issue 20): on the media type itself or on the schema it refers to (a model's own
`examples`, a list page's example of the page), and every example is valid against its schema
(JSON Schema 2020-12, references resolved in the document's components). No broker, no
database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from loyalty_devkit.openapi_export import SERVICES, openapi_documents

DOCUMENTS: dict[str, dict[str, Any]] = {
    filename.removesuffix(".json"): json.loads(text)
    for filename, text in openapi_documents().items()
}
#: The services' documents and the gateway's (their routed operations merged into one)
NAMES = [*SERVICES, "gateway", "gateway-internal"]


def media_types(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every request body and response body of every operation, named for the failure list."""
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{where} request {media}", content
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    yield f"{where} {status} {media}", content


def referred(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def examples_of(document: dict[str, Any], content: dict[str, Any]) -> list[Any]:
    if "example" in content:
        return [content["example"]]
    if "examples" in content:
        return [example["value"] for example in content["examples"].values()]
    return list(referred(document, content.get("schema", {})).get("examples", []))


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """`schema` with the document's components beside it, so `#/components/...` resolves."""
    return Draft202012Validator(
        {**schema, "components": document.get("components", {})},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def schemas_with_examples(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema in the components that carries `examples` (a model's, a field's)."""
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list):
            yield where, node
        for key, value in node.items():
            yield from schemas_with_examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas_with_examples(value, f"{where}/{index}")


@pytest.mark.parametrize("service", NAMES)
def test_every_request_and_response_has_an_example(service: str) -> None:
    document = DOCUMENTS[service]
    missing = [
        where for where, content in media_types(document) if not examples_of(document, content)
    ]
    assert missing == []


@pytest.mark.parametrize("service", NAMES)
def test_every_example_of_a_request_or_response_is_valid_against_its_schema(
    service: str,
) -> None:
    document = DOCUMENTS[service]
    invalid = [
        f"{where}: {error.json_path}: {error.message}"
        for where, content in media_types(document)
        for example in examples_of(document, content)
        for error in validator(document, content.get("schema", {})).iter_errors(example)
    ]
    assert invalid == []


@pytest.mark.parametrize("service", NAMES)
def test_every_example_in_the_components_is_valid_against_its_schema(service: str) -> None:
    document = DOCUMENTS[service]
    invalid = [
        f"{where}: {error.json_path}: {error.message}"
        for where, schema in schemas_with_examples(document.get("components", {}), "components")
        for example in schema["examples"]
        for error in validator(document, schema).iter_errors(example)
    ]
    assert invalid == []


def test_the_problem_component_has_an_example() -> None:
    problem = DOCUMENTS["points"]["components"]["schemas"]["Problem"]
    assert problem["examples"][0]["status"] == 409
