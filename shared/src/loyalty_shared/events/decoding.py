"""From Kafka record bytes to a validated event, or to the reason it is refused.

Never raises for bad input: a consumer must be able to send anything it cannot read to the
dead-letter topic and go on with the records behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from loyalty_shared.events.envelope import CloudEvent


class InvalidEvent(Exception):
    """An event the platform refuses: it goes to `<topic>.dlq` with `code` and `detail`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The record as it came off Kafka, for a handler that must keep it (a parked refund)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class Decoded:
    envelope: CloudEvent
    data: BaseModel
    raw: RawRecord | None = None


@dataclass(frozen=True, slots=True)
class UnknownType:
    event_type: str


def _summarise(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def decode_event(
    value: bytes | None, models: Mapping[str, type[BaseModel]]
) -> Decoded | UnknownType:
    """Parse and validate one record value; `InvalidEvent` for anything the contract refuses."""
    if value is None:
        raise InvalidEvent("invalid-json", "the record has no value")
    try:
        raw: Any = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid-json", f"not valid UTF-8 JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEvent("not-a-cloudevent", "the JSON value is not an object")
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
    member_id = getattr(data, "member_id", None)
    if member_id is not None and envelope.subject != member_id:
        raise InvalidEvent(
            "subject-mismatch",
            f"subject {envelope.subject!r} differs from data.member_id {member_id!r}",
        )
    return Decoded(envelope, data)
