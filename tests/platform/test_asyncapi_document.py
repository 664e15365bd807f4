"""docs/asyncapi.yaml is valid for the AsyncAPI Initiative's parser (@asyncapi/parser: not an
error, not a warning), says how to reach the production cluster, shows an example of every
message that its schema and the code's model both accept, and documents each event's data as
the code's model has it (no broker, no database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from loyalty_shared.events import commerce, loyalty
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.envelope import OutgoingEnvelope
from tests.support.node_tools import node_tools, run_node_tool

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
ASYNCAPI: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text("utf-8"))
MESSAGES: dict[str, dict[str, Any]] = ASYNCAPI["components"]["messages"]
SCHEMAS: dict[str, Any] = ASYNCAPI["components"]["schemas"]


def _models() -> dict[str, tuple[type[BaseModel], ...]]:
    """Each event type -> the models the code reads or writes its data with."""
    found: dict[str, tuple[type[BaseModel], ...]] = {}
    for module in (commerce, loyalty):
        for value in vars(module).values():
            event_type = getattr(value, "TYPE", None)
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and isinstance(event_type, str)
                and value.__module__ == module.__name__
            ):
                found[event_type] = (value,)
    # one profile for both, of which points reads the referrer and the birthday
    profile = (commerce.MemberProfileV1, commerce.EnrolmentV1)
    found[commerce.MEMBER_ENROLLED] = found[commerce.MEMBER_UPDATED] = profile
    return found


MODELS = _models()
#: Messages whose data has a model: the key in components.messages -> the event type.
MODELLED = {key: m["name"] for key, m in MESSAGES.items() if m.get("name") in MODELS}


def diagnostics(document: Path) -> list[dict[str, str]]:
    tools = node_tools()
    done = run_node_tool(
        tools, ["node", tools / "validate-asyncapi.mjs", document], document.parent
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_the_asyncapi_parser_finds_nothing_to_say_about_the_document() -> None:
    assert diagnostics(DOCUMENT) == []


def test_the_asyncapi_parser_reports_what_breaks_the_specification(tmp_path: Path) -> None:
    broken = json.loads(json.dumps(ASYNCAPI))
    broken["components"]["messages"]["deadLetter"]["unknownKey"] = 1
    del broken["channels"]["loyaltyPoints"]["address"]
    path = tmp_path / "asyncapi.yaml"
    path.write_text(yaml.safe_dump(broken), "utf-8")
    errors = {d["path"] for d in diagnostics(path) if d["severity"] == "error"}
    assert "components.messages.deadLetter.unknownKey" in errors


def test_the_production_server_is_kafka_over_tls_with_scram_sha_512() -> None:
    server = ASYNCAPI["servers"]["production"]
    assert server["protocol"] == "kafka-secure"
    assert server["host"].endswith(":9093")
    [requirement] = server["security"]
    scheme = ASYNCAPI["components"]["securitySchemes"][requirement["$ref"].rsplit("/", 1)[1]]
    assert scheme["type"] == "scramSha512"
    assert "TLS" in scheme["description"]


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_an_example_its_schema_accepts(key: str) -> None:
    message = MESSAGES[key]
    assert message.get("examples"), f"{key} has no example"
    for example in message["examples"]:
        if "payload" in message:
            resolving = {**ASYNCAPI, "$ref": f"#/components/messages/{key}/payload"}
            jsonschema.Draft7Validator(resolving).validate(example["payload"])
        if "headers" in message:
            resolving = {**ASYNCAPI, "$ref": f"#/components/messages/{key}/headers"}
            jsonschema.Draft7Validator(resolving).validate(example.get("headers", {}))


@pytest.mark.parametrize("key", sorted(MODELLED))
def test_every_example_event_is_one_the_code_accepts(key: str) -> None:
    event_type = MODELLED[key]
    for example in MESSAGES[key]["examples"]:
        event = example["payload"]
        assert event["type"] == event_type
        assert event["subject"] == event["data"]["member_id"]
        for model in MODELS[event_type]:
            model.model_validate_json(json.dumps(event["data"]))


def _resolved(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**defs[schema["$ref"].rsplit("/", 1)[1]], **rest}
    return schema


def shape(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[set[str], set[Any] | None]:
    """The JSON types a schema allows and its values when it names them (enum, const)."""
    schema = _resolved(schema, defs)
    types: set[str] = set()
    values: set[Any] | None = None
    for part in schema.get("allOf", ()):
        part_types, part_values = shape(part, defs)
        types |= part_types
        values = values if part_values is None else part_values
    for part in [*schema.get("anyOf", ()), *schema.get("oneOf", ())]:
        part_types, part_values = shape(part, defs)
        types |= part_types
        if part_values is not None:
            values = (values or set()) | part_values
    if "type" in schema:
        types |= {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
    if "const" in schema:
        values = {schema["const"]}
    if "enum" in schema:
        values = set(schema["enum"])
    if values is not None and "null" in types:
        values.add(None)
    return types, values


@pytest.mark.parametrize("key", sorted(MODELLED))
def test_the_documented_data_of_every_event_is_the_codes_model(key: str) -> None:
    """Same fields; what the code requires documented required (an input event's required fields
    exactly those); each field's type one the code takes, its values the code's when it names
    them. The document may say more than the model: an enum where the code writes a plain
    string, no JSON number for money (the money validators refuse one)."""
    event_type = MODELLED[key]
    data_ref = MESSAGES[key]["payload"]["allOf"][1]["properties"]["data"]
    documented = _resolved(data_ref, SCHEMAS)
    is_input = all(model.__module__ == commerce.__name__ for model in MODELS[event_type])
    mode: Literal["validation", "serialization"] = "validation" if is_input else "serialization"
    # the first model is the event's own; the others read parts of it
    properties: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for model in MODELS[event_type]:
        schema = model.model_json_schema(mode=mode)
        for name, field in schema["properties"].items():
            properties.setdefault(name, (field, schema.get("$defs", {})))
    required = set(MODELS[event_type][0].model_json_schema(mode=mode).get("required", ()))

    assert set(documented["properties"]) == set(properties), key
    documented_required = set(documented.get("required", ()))
    assert required <= documented_required <= set(properties), key
    if is_input:
        assert documented_required == required, key
    for name, (field, defs) in properties.items():
        doc_types, doc_values = shape(documented["properties"][name], SCHEMAS)
        code_types, code_values = shape(field, defs)
        assert doc_types, f"{key}.{name}: no type documented"
        assert doc_types <= code_types, f"{key}.{name}: {doc_types} documented, {code_types} code"
        if code_values is not None:
            assert doc_values == code_values, f"{key}.{name}: {doc_values} != {code_values}"


OUTPUTS = {key: t for key, t in MODELLED.items() if MODELS[t][0].__module__ == loyalty.__name__}


@pytest.mark.parametrize("key", sorted(OUTPUTS))
def test_every_example_the_platform_writes_again_is_the_documented_message(key: str) -> None:
    """The example's data, emitted as the platform emits it (`platform_event`), is a payload
    of its message: the envelope the code writes is the documented one."""
    message = MESSAGES[key]
    resolving = {**ASYNCAPI, "$ref": f"#/components/messages/{key}/payload"}
    for example in message["examples"]:
        data = MODELS[OUTPUTS[key]][0].model_validate(example["payload"]["data"])
        assert isinstance(data, loyalty.PlatformEvent)
        written = platform_event(data, source=example["payload"]["source"]).to_json()
        OutgoingEnvelope.model_validate_json(written)
        jsonschema.Draft7Validator(resolving).validate(json.loads(written))


def _enum(schema: str, field: str) -> list[str]:
    documented: list[str] = _resolved(SCHEMAS[schema]["properties"][field], SCHEMAS)["enum"]
    return documented


def test_the_documented_triggers_are_those_the_notifications_service_has() -> None:
    from loyalty_notifications.triggers.payloads import TRIGGERS

    assert sorted(_enum("NotificationSentData", "trigger")) == sorted(TRIGGERS)


def test_the_documented_segments_are_those_the_feedback_service_scores() -> None:
    from loyalty_feedback.insight.scoring import SEGMENTS

    assert sorted(_enum("MemberSegmentChangedData", "to_segment")) == sorted(SEGMENTS)
