"""The committed API documents say what the code does (no broker, no database)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from loyalty_devkit.asyncapi_export import MARKER, asyncapi_document, generated_schemas
from loyalty_devkit.openapi_export import (
    GATEWAY_FILE,
    INTERNAL_GATEWAY_FILE,
    SERVICES,
    openapi_documents,
)
from loyalty_shared.events import commerce, loyalty
from loyalty_shared.kafka.topics import ALL_TOPICS, dlq_topic

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "run `.venv/bin/loyalty openapi` and commit docs/openapi/"


def event_types(module: ModuleType) -> set[str]:
    """Every event type a module defines: `TYPE` on its models, and its upper-case constants."""
    found = set()
    for name, value in vars(module).items():
        if isinstance(value, type) and value.__module__ == module.__name__:
            event_type = getattr(value, "TYPE", None)
            if isinstance(event_type, str):
                found.add(event_type)
        elif name.isupper() and isinstance(value, str):
            found.add(value)
    return found


CODE_EVENT_TYPES = sorted(event_types(commerce) | event_types(loyalty))


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DOCS / "asyncapi.yaml").read_text("utf-8"))
    return document


OPENAPI_FILES = [*(f"{name}.json" for name in SERVICES), GATEWAY_FILE, INTERNAL_GATEWAY_FILE]


def test_every_service_and_the_gateway_have_a_committed_openapi_document() -> None:
    committed = sorted(path.name for path in (DOCS / "openapi").glob("*.json"))
    assert committed == sorted(OPENAPI_FILES), REGENERATE


@pytest.mark.parametrize("filename", OPENAPI_FILES)
def test_the_committed_openapi_document_is_what_the_app_serves(filename: str) -> None:
    path = DOCS / "openapi" / filename
    assert path.is_file(), f"{path} is missing: {REGENERATE}"
    assert path.read_text("utf-8") == openapi_documents()[filename], (
        f"{path} is out of date: {REGENERATE}"
    )


def test_the_committed_asyncapi_payload_schemas_are_what_the_event_models_say() -> None:
    text = (DOCS / "asyncapi.yaml").read_text("utf-8")
    assert text == asyncapi_document(text), (
        "docs/asyncapi.yaml is out of date: run `.venv/bin/loyalty asyncapi` and commit it"
    )


def test_every_event_types_data_schema_is_written_from_its_model() -> None:
    text = (DOCS / "asyncapi.yaml").read_text("utf-8")
    head = yaml.safe_load(text.partition(MARKER)[0])
    written_by_hand = set(head["components"].get("schemas") or {})
    messages = head["components"]["messages"].values()
    data_refs = {
        part["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        for message in messages
        if message.get("name") in CODE_EVENT_TYPES
        for part in message["payload"]["allOf"][1:]
    }
    assert data_refs <= set(generated_schemas()) - written_by_hand


def test_asyncapi_is_version_3(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"].startswith("3.")


@pytest.mark.parametrize("topic", [*ALL_TOPICS, *(dlq_topic(t) for t in ALL_TOPICS)])
def test_asyncapi_documents_every_topic_and_its_dead_letter_twin(
    asyncapi: dict[str, Any], topic: str
) -> None:
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert topic in addresses, f"docs/asyncapi.yaml has no channel for {topic}"


def test_the_code_defines_event_types() -> None:
    assert "purchase.completed" in CODE_EVENT_TYPES
    assert "member.enrolled" in CODE_EVENT_TYPES
    assert "tier.changed" in CODE_EVENT_TYPES


@pytest.mark.parametrize("event_type", CODE_EVENT_TYPES)
def test_asyncapi_documents_every_event_type_the_code_defines(
    asyncapi: dict[str, Any], event_type: str
) -> None:
    names = {message.get("name") for message in asyncapi["components"]["messages"].values()}
    assert event_type in names, f"docs/asyncapi.yaml has no message named {event_type}"


def test_every_channel_message_is_a_defined_message(asyncapi: dict[str, Any]) -> None:
    messages = asyncapi["components"]["messages"]
    for channel in asyncapi["channels"].values():
        for message in channel["messages"].values():
            ref = message["$ref"]
            assert ref.startswith("#/components/messages/"), ref
            assert ref.rsplit("/", 1)[1] in messages, ref
