"""From Kafka record bytes to a validated event, or to the reason it is refused.

A CloudEvent comes in structured mode (what the platform writes) or in binary mode (what the
CloudEvents SDKs' Kafka binding writes by default): each is made into the same JSON object, then
validated once, the same way.

Never raises for bad input: a consumer must be able to send anything it cannot read to the
dead-letter topic and go on with the records behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import msgspec
import orjson
from pydantic import BaseModel, ValidationError

from loyalty_shared.events.envelope import CloudEvent

#: The data model of an event type.
M = TypeVar("M", bound=BaseModel)


class InvalidEvent(Exception):
    """An event the platform refuses: it goes to `<topic>.dlq` with `code` and `detail`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class RawRecord(msgspec.Struct, frozen=True):
    """The record as it came off Kafka, for a handler that must keep it (a parked refund)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


class Decoded(msgspec.Struct, Generic[M], frozen=True):
    """A valid event: its envelope and its data as the model registered for its type."""

    envelope: CloudEvent
    data: M
    raw: RawRecord | None = None


class UnknownType(msgspec.Struct, frozen=True):
    event_type: str


def _summarise(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


#: A NUL can only reach a JSON string escaped; PostgreSQL stores it in no text or JSON column, so
#: an event holding one in a field a service keeps would fail its batch (the inbox stores the id).
_ESCAPED_NUL = b"\\u0000"


def _nul_in(envelope: CloudEvent, data: BaseModel) -> str | None:
    """Where the first NUL is among the fields the platform reads (unknown ones are ignored)."""
    known = envelope.model_dump(exclude={"data"})
    stack: list[tuple[str, Any]] = [*known.items(), *(("data", data.model_dump()),)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return where
        if isinstance(value, dict):
            stack += [(f"{where}.{k}", v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(f"{where}.{i}", v) for i, v in enumerate(value)]
    return None


#: The header that makes a record a CloudEvent in binary mode (the Kafka protocol binding): its
#: attributes in `ce_<name>` headers, `datacontenttype` in `content-type`, the data as the value.
BINARY_MODE_HEADER = "ce_specversion"
_ATTRIBUTE_PREFIX = "ce_"
Headers = Sequence[tuple[str, bytes]]


def is_binary_mode(headers: Headers) -> bool:
    """Whether the record is a binary-mode CloudEvent (cheap: a look at a few header names)."""
    return any(name == BINARY_MODE_HEADER for name, _ in headers)


def header_value(headers: Headers | None, name: str) -> str | None:
    """The first header `name` as text (undecodable bytes replaced), or None."""
    for found, value in headers or ():
        if found == name:
            return value.decode(errors="replace")
    return None


def _structured(value: bytes) -> tuple[dict[str, Any], bool]:
    """The envelope as the JSON object of the value, and whether it may hold a NUL."""
    try:
        raw: Any = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid-json", f"not valid UTF-8 JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEvent("not-a-cloudevent", "the JSON value is not an object")
    return raw, _ESCAPED_NUL in value


def _binary(value: bytes, headers: Headers) -> tuple[dict[str, Any], bool]:
    """The envelope as the JSON object structured mode would carry: the attributes from the
    `ce_<name>` headers (UTF-8 text), `datacontenttype` from `content-type`, `data` the value
    read as JSON; and whether it may hold a NUL."""
    raw: dict[str, Any] = {}
    nul = False
    for name, header in headers:
        if name.startswith(_ATTRIBUTE_PREFIX):
            attribute = name[len(_ATTRIBUTE_PREFIX) :]
        elif name.lower() == "content-type":
            attribute = "datacontenttype"
        else:
            continue
        if attribute in raw:
            raise InvalidEvent("not-a-cloudevent", f"{attribute}: given twice in the headers")
        try:
            text = header.decode()
        except UnicodeDecodeError:
            raise InvalidEvent(
                "not-a-cloudevent", f"{attribute}: header {name} is not UTF-8"
            ) from None
        nul = nul or "\x00" in text
        raw[attribute] = text
    try:
        raw["data"] = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid-json", f"data: not valid UTF-8 JSON: {exc}") from None
    return raw, nul or _ESCAPED_NUL in value


def decode_event(
    value: bytes | None, models: Mapping[str, type[M]], headers: Headers | None = None
) -> Decoded[M] | UnknownType:
    """Parse and validate one record, a CloudEvent in structured mode (the envelope as the JSON
    value) or in binary mode (a `ce_specversion` header: see `_binary`); `InvalidEvent` for
    anything the contract refuses, with the same code in either mode."""
    if value is None:
        raise InvalidEvent("invalid-json", "the record has no value")
    if headers and is_binary_mode(headers):
        raw, may_hold_nul = _binary(value, headers)
    else:
        raw, may_hold_nul = _structured(value)
    try:
        envelope = CloudEvent.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent("not-a-cloudevent", _summarise(exc)) from None
    model = models.get(envelope.type)
    if model is None:
        return UnknownType(envelope.type)
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent("invalid-data", _summarise(exc)) from None
    if may_hold_nul:  # cheap: only then is any text looked at
        where = _nul_in(envelope, data)
        if where is not None:
            code = "invalid-data" if where.startswith("data.") else "not-a-cloudevent"
            raise InvalidEvent(code, f"{where}: text must not hold a NUL character (\\u0000)")
    member_id = getattr(data, "member_id", None)
    if member_id is not None and envelope.subject != member_id:
        raise InvalidEvent(
            "subject-mismatch",
            f"subject {envelope.subject!r} differs from data.member_id {member_id!r}",
        )
    return Decoded(envelope, data)
