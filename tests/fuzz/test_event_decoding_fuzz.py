"""Any record a topic can carry is either an event the contract allows or refused with a reason
for the dead-letter headers: never an unhandled error, whatever its bytes (decoding is the pure
function every consumer runs first: `loyalty_shared.events.decoding.decode_event`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from pydantic import BaseModel

from loyalty_shared.events.decoding import Decoded, InvalidEvent, UnknownType, decode_event
from tests.fuzz.budget import EXAMPLES, fuzz_settings
from tests.fuzz.hostile_events import MODELS, encode, hostile_value, mutated_event, valid_event

#: The reasons the contract gives for refusing a record (docs/asyncapi.yaml, `error.code`).
CODES = {"invalid-json", "not-a-cloudevent", "invalid-data", "subject-mismatch"}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, BaseModel):
        return _texts(value.model_dump())
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts(v)]
    return []


def _judged(value: bytes) -> Decoded[BaseModel] | UnknownType | InvalidEvent:
    try:
        return decode_event(value, MODELS)
    except InvalidEvent as refusal:
        return refusal


def _assert_contract_holds(outcome: Decoded[BaseModel] | UnknownType | InvalidEvent) -> None:
    if isinstance(outcome, InvalidEvent):
        assert outcome.code in CODES
        assert outcome.detail.strip(), "a refusal says why"
        outcome.detail.encode()  # it goes into a Kafka header as UTF-8
    elif isinstance(outcome, UnknownType):
        assert outcome.event_type not in MODELS
    else:
        assert outcome.envelope.type in MODELS
        assert outcome.envelope.subject == getattr(outcome.data, "member_id", None)
        stored = [outcome.envelope.id, outcome.envelope.source, *_texts(outcome.data)]
        assert not [t for t in stored if "\x00" in t], "no service can store a NUL in text"


@pytest.mark.parametrize("event_type", sorted(MODELS))
def test_a_valid_event_of_every_type_a_service_consumes_is_accepted(event_type: str) -> None:
    outcome = _judged(encode(valid_event(event_type)))
    assert isinstance(outcome, Decoded), outcome
    assert outcome.envelope.type == event_type


@fuzz_settings(EXAMPLES.events)
@given(value=hostile_value())
def test_any_record_is_accepted_as_the_contract_says_or_refused_with_a_reason(
    value: bytes,
) -> None:
    _assert_contract_holds(_judged(value))


@fuzz_settings(EXAMPLES.events)
@given(event=mutated_event())
def test_an_event_with_fields_dropped_or_retyped_is_accepted_only_if_still_valid(
    event: dict[str, Any],
) -> None:
    _assert_contract_holds(_judged(encode(event)))
