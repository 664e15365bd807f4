"""`loyalty asyncapi`: the payload schemas of docs/asyncapi.yaml, written from the event models.

The document is hand-written down to a marker line in `components.schemas` (info, servers,
channels, operations, messages and their examples, and schemas no model has); everything below
the marker is written from the code, so the documented payloads cannot drift from it: the field
types the contract names (`fields.WIRE_TYPES`), the envelopes (`CloudEvent` as the platform reads
it, `OutgoingEnvelope` as it writes it) and the `data` of every event type (the input models of
`events.commerce` as the platform validates them, the platform's own of `events.loyalty` as it
writes them). Descriptions, patterns and examples live on the models' fields.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import CoreSchema

from loyalty_shared.events import commerce, loyalty
from loyalty_shared.events.envelope import CloudEvent, OutgoingEnvelope, schema_uri
from loyalty_shared.events.fields import WIRE_TYPES

DEFAULT_FILE = Path("docs/asyncapi.yaml")
MARKER = (
    "    # --- written by `loyalty asyncapi` from the event models (shared/src/loyalty_shared/"
    "events): change those and run it, do not edit below ---"
)
REF = "#/components/schemas/{model}"

#: The envelopes, by the names the document gives them.
ENVELOPES: dict[str, tuple[type[BaseModel], JsonSchemaMode]] = {
    "InputEnvelope": (CloudEvent, "validation"),
    "OutputEnvelope": (OutgoingEnvelope, "serialization"),
}
#: Data several models read: the profile's own model, then the one that reads more of it.
PROFILE = (commerce.MemberProfileV1, commerce.EnrolmentV1)
PROFILE_TYPES = (commerce.MEMBER_ENROLLED, commerce.MEMBER_UPDATED)

#: The order of a schema's keywords in the document: what it is, then what it holds.
_KEY_ORDER = (
    "$ref",
    "allOf",
    "anyOf",
    "type",
    "format",
    "const",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "not",
    "minItems",
    "maxItems",
    "default",
    "description",
    "examples",
    "required",
    "properties",
    "additionalProperties",
    "items",
)


class AsyncApiError(Exception):
    """The hand-written part of the document cannot take the generated schemas."""


def event_models() -> dict[str, tuple[type[BaseModel], ...]]:
    """Every event type the code defines -> the models of its data (the first its own)."""
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
    for event_type in PROFILE_TYPES:
        found[event_type] = PROFILE
    return found


def data_schema_name(model: type[BaseModel]) -> str:
    """`PointsEarnedV1` -> `PointsEarnedData` (a later version keeps its number)."""
    return re.sub(r"V1$", "", model.__name__) + "Data"


def _mode(model: type[BaseModel]) -> JsonSchemaMode:
    # the input events as the platform accepts them, its own as it writes them
    return "validation" if model.__module__ == commerce.__name__ else "serialization"


def _same(a: Any, b: Any) -> bool:
    """Core schemas equal, validators compared by what they are (a `Field(ge=0)` builds a new
    `functools.partial` each time)."""
    if isinstance(a, functools.partial) and isinstance(b, functools.partial):
        return a.func is b.func and a.args == b.args and a.keywords == b.keywords
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@functools.cache
def _wire_core_schemas() -> tuple[tuple[str, CoreSchema], ...]:
    return tuple((wire.name, TypeAdapter[Any](wire.annotation).core_schema) for wire in WIRE_TYPES)


class _NamedTypes(GenerateJsonSchema):
    """Pydantic's JSON schema, with a field of a wire type left as a placeholder for a
    reference to it (pydantic resolves `$ref`s it did not make), and in what the platform
    writes a `datetime` as a Timestamp, a `date` as a Date."""

    WRITTEN: ClassVar[dict[str, str]] = {"datetime": "Timestamp", "date": "Date"}

    def generate_inner(self, schema: Any) -> Any:
        for name, core in _wire_core_schemas():
            if _same(schema, core):
                return {"x-wire-type": name}
        if self.mode == "serialization" and schema.get("type") in self.WRITTEN:
            return {"x-wire-type": self.WRITTEN[schema["type"]]}
        return super().generate_inner(schema)


def _paragraphs(text: str) -> str:
    """A docstring's lines joined into paragraphs (blank lines keep them apart)."""
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n")).strip()


def _tidy(schema: Any, names: dict[str, str]) -> Any:
    """The document's form: no pydantic titles, references renamed, placeholders made
    `$ref`s (under `allOf` when the field says more), keywords in a readable order."""
    if isinstance(schema, list):
        return [_tidy(part, names) for part in schema]
    if not isinstance(schema, dict):
        return schema
    tidy: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties":
            tidy[key] = {name: _tidy(field, names) for name, field in value.items()}
        elif key == "$ref":
            model = value.rsplit("/", 1)[1]
            tidy[key] = REF.format(model=names.get(model, model))
        elif key == "x-wire-type":
            tidy["$ref"] = REF.format(model=value)
        elif key == "description":
            tidy[key] = _paragraphs(value)
        else:
            tidy[key] = _tidy(value, names)
    if len(tidy.get("anyOf", ())) == 1:
        [only] = tidy.pop("anyOf")
        tidy = {**only, **tidy}
    if "$ref" in tidy and len(tidy) > 1:
        tidy["allOf"] = [{"$ref": tidy.pop("$ref")}]
    order = {key: i for i, key in enumerate(_KEY_ORDER)}
    return dict(sorted(tidy.items(), key=lambda item: order.get(item[0], len(order))))


def _data_description(event_types: list[str], model: type[BaseModel]) -> str:
    types = " and ".join(event_types)
    version = getattr(model, "VERSION", None)
    first = f"`data` of {types}"
    if isinstance(version, int):
        first += f" (`{schema_uri(event_types[0], version)}`)"
    doc = model.__doc__ if "__doc__" in vars(model) else None
    return f"{first}.\n\n{_paragraphs(doc)}" if doc else f"{first}."


def generated_schemas() -> dict[str, Any]:
    """`components.schemas` as the code has them: the wire types, the envelopes, the types the
    events' data nest, and each event's data (by `data_schema_name`)."""
    by_model: dict[type[BaseModel], list[str]] = {}
    for event_type, models in event_models().items():
        by_model.setdefault(models[0], []).append(event_type)
    readers = [model for models in event_models().values() for model in models[1:]]
    inputs = [(model, _mode(model)) for model in [*by_model, *dict.fromkeys(readers)]]
    inputs += list(ENVELOPES.values())
    _, definitions = models_json_schema(inputs, ref_template=REF, schema_generator=_NamedTypes)
    defs: dict[str, Any] = dict(definitions.get("$defs", {}))

    names = {model.__name__: data_schema_name(model) for model in by_model}
    names |= {model.__name__: name for name, (model, _) in ENVELOPES.items()}
    data: dict[str, Any] = {}
    for model, event_types in by_model.items():
        schema = defs.pop(model.__name__)
        properties = schema["properties"]
        for reader in event_models()[event_types[0]][1:]:
            for name, field in defs[reader.__name__]["properties"].items():
                properties.setdefault(name, field)
        if "causation_id" in properties:  # last, as the models declare it
            properties["causation_id"] = properties.pop("causation_id")
        schema["required"] = [name for name in properties if name in schema["required"]]
        schema["description"] = _data_description(event_types, model)
        data[names[model.__name__]] = schema
    for reader in readers:
        defs.pop(reader.__name__, None)
    envelopes = {name: defs.pop(model.__name__) for name, (model, _) in ENVELOPES.items()}

    wire: dict[str, Any] = {}
    for wire_type in WIRE_TYPES:
        if "type" in wire_type.schema:
            wire[wire_type.name] = dict(wire_type.schema)
        else:  # a model or typed dict of its own: what pydantic says of it, and more
            own = TypeAdapter[Any](wire_type.annotation).json_schema(ref_template=REF)
            wire[wire_type.name] = {**own, **wire_type.schema}
            defs.pop(wire_type.name, None)
    nested = dict(sorted(defs.items()))
    schemas = {**wire, **envelopes, **nested, **data}
    return {name: _tidy(schema, names) for name, schema in schemas.items()}


class _Dumper(yaml.SafeDumper):
    """Keys in the order given, lists indented under their key, a list of scalars on one line
    (`required: [a, b]`), a text of several paragraphs folded."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(not isinstance(item, dict | list) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _list)


def _render(schemas: dict[str, Any]) -> Iterator[str]:
    text = yaml.dump(
        schemas,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=88,
        indent=2,
    )
    for line in text.splitlines():
        yield f"    {line}" if line else ""


def split_document(text: str) -> str:
    """The hand-written part of the document: everything down to the marker line, included."""
    head, marker, _ = text.partition(MARKER + "\n")
    if not marker:
        raise AsyncApiError(f"no marker line in the document: {MARKER.strip()}")
    return head + marker


def asyncapi_document(text: str) -> str:
    """The document `text` with everything below its marker written from the code."""
    head = split_document(text)
    written = yaml.safe_load(head)["components"].get("schemas") or {}
    generated = generated_schemas()
    clash = sorted(set(written) & set(generated))
    if clash:
        raise AsyncApiError(
            f"{', '.join(clash)}: written from the code, delete them above the marker"
        )
    return head + "\n".join(_render(generated)) + "\n"


def write_document(path: Path = DEFAULT_FILE) -> bool:
    """Rewrite the generated part of the document; whether it changed."""
    text = path.read_text("utf-8")
    new = asyncapi_document(text)
    if new != text:
        path.write_text(new, "utf-8")
    return new != text


def is_current(path: Path = DEFAULT_FILE) -> bool:
    """Whether the committed document is what `write_document` would write."""
    text = path.read_text("utf-8")
    return asyncapi_document(text) == text
