"""What the event models say of themselves for docs/asyncapi.yaml (descriptions, examples,
patterns, enums: `loyalty asyncapi` writes the payload schemas from them) is documentation
only: it changes nothing they accept or refuse, and the field types' documented schemas accept
what the types accept."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo

from loyalty_shared.events import commerce, envelope, loyalty
from loyalty_shared.events.fields import WIRE_TYPES, WireType

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
MESSAGES = yaml.safe_load(DOCUMENT.read_text("utf-8"))["components"]["messages"]
EXAMPLES = [
    example["payload"]
    for message in MESSAGES.values()
    for example in message.get("examples", ())
    if isinstance(example.get("payload"), dict)
]
MODELS = sorted(
    (
        value
        for module in (commerce, loyalty, envelope)
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == module.__name__
        and not value.__name__.startswith("_")
    ),
    key=lambda model: model.__name__,
)
ODD_VALUES: list[Any] = [None, 0, -1, 1.5, "", " x", "x" * 300, "1.005", "0", True, [], {}]


def undocumented(model: type[BaseModel]) -> type[BaseModel]:
    """The model without what it says for the document: no description, example or extra
    JSON schema on its fields or itself."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        bare = FieldInfo.merge_field_infos(info, description=None, examples=None)
        bare.json_schema_extra = None
        fields[name] = (info.annotation, bare)
    config = ConfigDict(**{**model.model_config, "json_schema_extra": None})
    bare_model: type[BaseModel] = create_model(model.__name__, __config__=config, **fields)
    return bare_model


def outcome(model: type[BaseModel], value: Any) -> tuple[str, Any]:
    try:
        return "accepted", model.model_validate_json(json.dumps(value)).model_dump(mode="json")
    except ValidationError as error:
        return "refused", [(e["type"], e["loc"]) for e in error.errors()]


def mutations(value: Any) -> list[Any]:
    """`value`, and it with each field (at any depth) dropped or set to an odd value."""
    found = [value]

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in keys:
            for new in ["<dropped>", *ODD_VALUES]:
                changed = copy.deepcopy(value)
                parent = changed
                for step in path:
                    parent = parent[step]
                if new == "<dropped>":
                    del parent[key]
                else:
                    parent[key] = new
                found.append(changed)
            if isinstance(node[key], dict | list):
                walk(node[key], (*path, key))

    walk(value, ())
    return found


CORPUS = [
    mutated
    for example in EXAMPLES
    for part in (example, example.get("data"))
    if isinstance(part, dict)
    for mutated in mutations(part)
]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_what_a_model_says_for_the_document_changes_nothing_it_accepts_or_refuses(
    model: type[BaseModel],
) -> None:
    bare = undocumented(model)
    for value in CORPUS:
        assert outcome(model, value) == outcome(bare, value), value


def test_the_documented_models_are_not_bare() -> None:
    assert commerce.PurchaseCompletedV1.model_fields["order_id"].description
    assert not undocumented(commerce.PurchaseCompletedV1).model_fields["order_id"].description


PROBES = [
    "399.00", "12.5", "7", "0", "0.00", "-1", "-0.5", "1.005", "4E+2", "1_000", " 399", "+1",
    "399.", ".5", "", "CNY", "XXX", "cny", "ABCD", "1990-05-17", "1990-5-17", "1990-02-30",
    "2026-11-20T10:15:00+08:00", "2026-11-20T02:15:00Z", "2026-11-20t02:15:00z",
    "2026-11-20 02:15:00.5+00:00", "2026-11-20T10:15:00", "m-1001", " m-1001", "x" * 129,
]  # fmt: skip


@pytest.mark.parametrize(
    "wire", [w for w in WIRE_TYPES if "type" in w.schema], ids=lambda wire: wire.name
)
def test_every_value_a_field_type_accepts_its_documented_schema_accepts(wire: WireType) -> None:
    adapter = TypeAdapter[Any](wire.annotation)
    for example in wire.schema.get("examples", ()):
        adapter.validate_json(json.dumps(example))
    for probe in PROBES:
        try:
            adapter.validate_json(json.dumps(probe))
        except ValidationError:
            continue
        jsonschema.Draft7Validator(dict(wire.schema)).validate(probe)
