"""CloudEvents in both modes of the Kafka protocol binding, as the official SDK (`cloudevents`)
writes them (docs/events.md#one-event):

- binary mode: the attributes in `ce_<name>` headers (UTF-8 text), `datacontenttype` in the
  `content-type` header, the data alone (JSON) as the record value;
- structured mode: the whole event as the JSON value, what the platform itself writes.

Every service reads both, judges both by the same rules and refuses a broken event with the same
`error.code` whichever mode it came in.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from cloudevents.v1.http import CloudEvent as SdkEvent
from cloudevents.v1.kafka import KafkaMessage, to_binary, to_structured
from pydantic import BaseModel

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.events.commerce import (
    MEMBER_ENROLLED,
    MemberProfileV1,
    PurchaseCompletedV1,
    PurchaseRefundedV1,
)
from loyalty_shared.events.decoding import Decoded, InvalidEvent, decode_event
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.security.conftest import RunningService, running_services, service
from tests.support.events import encode, purchase
from tests.support.kafka import Record, publish_records, read_all
from tests.support.waiting import eventually

__all__ = ["running_services", "service"]

MODELS: dict[str, type[BaseModel]] = {
    PurchaseCompletedV1.TYPE: PurchaseCompletedV1,
    PurchaseRefundedV1.TYPE: PurchaseRefundedV1,
    MEMBER_ENROLLED: MemberProfileV1,
}


def sdk_event(event: dict[str, Any]) -> SdkEvent:
    """An event built as the contract shows it (tests/support/events), as the SDK holds it."""
    return SdkEvent({k: v for k, v in event.items() if k != "data"}, event["data"])


def _member_key(event: SdkEvent) -> str:
    subject: str = event.get("subject") or "m-none"
    return subject


def _record(message: KafkaMessage) -> Record:
    key = message.key.encode() if isinstance(message.key, str) else message.key
    value = message.value.encode() if isinstance(message.value, str) else message.value
    return key, value, list(message.headers.items())


def binary(event: SdkEvent) -> Record:
    """The record the SDK's Kafka binding writes in binary mode, keyed by the member."""
    return _record(to_binary(event, key_mapper=_member_key))


def structured(event: SdkEvent) -> Record:
    """The record the SDK's Kafka binding writes in structured mode, keyed by the member."""
    return _record(to_structured(event, key_mapper=_member_key))


def decoded(record: Record) -> Decoded[Any]:
    _, value, headers = record
    outcome = decode_event(value, MODELS, headers)
    assert isinstance(outcome, Decoded), outcome
    return outcome


def refused_code(record: Record) -> str:
    _, value, headers = record
    with pytest.raises(InvalidEvent) as refused:
        decode_event(value, MODELS, headers)
    return refused.value.code


# --- decoding: both modes are one event -------------------------------------------------------


def test_a_binary_mode_record_holds_the_attributes_in_ce_headers_and_the_data_as_the_value() -> (
    None
):
    event = purchase("m-1001", "399.00")

    key, value, headers = binary(sdk_event(event))

    assert key == b"m-1001"
    assert value is not None
    assert json.loads(value) == event["data"]
    assert dict(headers) == {
        "content-type": b"application/json",
        "ce_specversion": b"1.0",
        "ce_id": event["id"].encode(),
        "ce_source": b"shop/web",
        "ce_type": b"purchase.completed",
        "ce_time": event["time"].encode(),
        "ce_subject": b"m-1001",
    }


def test_the_sdk_s_binary_and_structured_records_of_one_event_decode_to_equal_events() -> None:
    """The SDK writes `datacontenttype` to the `content-type` header in both modes (structured
    mode then lacks it in the value): it is the one attribute that differs, and no service reads
    it."""
    event = purchase("m-1001", "399.00")
    sdk = sdk_event(event)

    from_binary, from_structured = decoded(binary(sdk)), decoded(structured(sdk))

    assert from_binary.envelope.datacontenttype == "application/json"
    assert from_structured.envelope.datacontenttype is None
    assert from_binary.envelope.model_copy(update={"datacontenttype": None}) == (
        from_structured.envelope
    )
    assert from_binary.data == from_structured.data
    assert from_binary.envelope.id == event["id"]
    assert from_binary.envelope.subject == "m-1001"
    assert isinstance(from_binary.data, PurchaseCompletedV1)
    assert str(from_binary.data.total) == "399.00"


def test_a_binary_record_decodes_to_the_event_the_platform_writes_in_structured_mode() -> None:
    """`content-type` is the event's `datacontenttype` in binary mode."""
    event = purchase("m-1001", "399.00")

    from_binary = decoded(binary(sdk_event(event)))

    assert from_binary == decode_event(encode(event), MODELS)
    assert from_binary.envelope.datacontenttype == "application/json"


def test_extension_attributes_in_ce_headers_are_ignored_like_unknown_envelope_fields() -> None:
    event = purchase("m-1001", "399.00")
    with_extension = sdk_event({**event, "partner": "tmall", "traceparent": "00-ab-cd-01"})

    assert decoded(binary(with_extension)) == decoded(binary(sdk_event(event)))


# --- decoding: the same refusal in either mode ------------------------------------------------


def _delete(attribute: str) -> Callable[[SdkEvent], None]:
    def change(event: SdkEvent) -> None:
        del event[attribute]

    return change


def _set(attribute: str, value: str) -> Callable[[SdkEvent], None]:
    def change(event: SdkEvent) -> None:
        event[attribute] = value

    return change


def _set_data(**fields: Any) -> Callable[[SdkEvent], None]:
    def change(event: SdkEvent) -> None:
        event.data = {**event.data, **fields}

    return change


def _data_not_an_object(event: SdkEvent) -> None:
    event.data = [1, 2, 3]


#: A way to break an event (applied to the SDK's event, before it is written in either mode), and
#: the code it is refused with.
BROKEN: dict[str, tuple[Callable[[SdkEvent], None], str]] = {
    "no id": (_delete("id"), "not-a-cloudevent"),
    "no source": (_delete("source"), "not-a-cloudevent"),
    "no type": (_delete("type"), "not-a-cloudevent"),
    "another specversion": (_set("specversion", "0.3"), "not-a-cloudevent"),
    "an id with a trailing space": (_set("id", "e-1 "), "not-a-cloudevent"),
    "a time without an offset": (_set("time", "2026-11-20T10:15:00"), "not-a-cloudevent"),
    "a time as epoch seconds": (_set("time", "1763604900"), "not-a-cloudevent"),
    "a NUL in the id": (_set("id", "e-\x00-1"), "not-a-cloudevent"),
    "a NUL in the source": (_set("source", "shop/\x00"), "not-a-cloudevent"),
    "a NUL in the subject": (_set("subject", "m-1001\x00"), "not-a-cloudevent"),
    "no subject": (_delete("subject"), "subject-mismatch"),
    "another subject": (_set("subject", "m-other"), "subject-mismatch"),
    "data not an object": (_data_not_an_object, "not-a-cloudevent"),
    "money with 3 decimals": (_set_data(total="1.005"), "invalid-data"),
    "money as a number": (_set_data(total=399.0), "invalid-data"),
    "a NUL in the order id": (_set_data(order_id="o-\x00-1"), "invalid-data"),
}


@pytest.mark.parametrize("how", BROKEN)
def test_a_broken_event_is_refused_with_the_same_code_in_binary_and_in_structured_mode(
    how: str,
) -> None:
    breaking, code = BROKEN[how]
    event = sdk_event(purchase("m-1001", "399.00"))
    breaking(event)

    assert (refused_code(binary(event)), refused_code(structured(event))) == (code, code)


def _binary_with(*, value: bytes | None = None, headers: dict[str, bytes] | None = None) -> Record:
    key, original_value, original_headers = binary(sdk_event(purchase("m-1001", "399.00")))
    changed = [*original_headers, *(headers or {}).items()]
    return key, original_value if value is None else value, changed


#: What only a binary-mode record can get wrong, and the code: the one structured mode gives its
#: nearest fault (a value that is not JSON, an envelope that breaks the rules).
BROKEN_BINARY: dict[str, tuple[Record, str]] = {
    "data that is not JSON": (_binary_with(value=b"{not json"), "invalid-json"),
    "no value": ((b"m-1001", None, _binary_with()[2]), "invalid-json"),
    "a header that is not UTF-8": (
        _binary_with(headers={"ce_partner": b"\xff\xfe"}),
        "not-a-cloudevent",
    ),
    "an attribute given twice": (_binary_with(headers={"ce_id": b"e-2"}), "not-a-cloudevent"),
}


@pytest.mark.parametrize("how", BROKEN_BINARY)
def test_a_binary_record_broken_in_its_own_ways_is_refused_like_its_structured_fault(
    how: str,
) -> None:
    record, code = BROKEN_BINARY[how]

    assert refused_code(record) == code


# --- the services -----------------------------------------------------------------------------


async def test_points_credits_purchases_the_sdk_publishes_in_binary_and_in_structured_mode(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    in_binary = sdk_event(purchase("m-ce-binary", "399.00", days_ago=30))
    in_structured = sdk_event(purchase("m-ce-structured", "120.00", days_ago=30))

    await publish_records(
        broker.bootstrap, COMMERCE_PURCHASES, [binary(in_binary), structured(in_structured)]
    )

    for member, points in [("m-ce-binary", 399), ("m-ce-structured", 120)]:
        body = await eventually(
            functools.partial(balance_of, points_api, member), lambda b: b["available"] != 0
        )
        assert (body["available"], body["lifetime_earned"]) == (points, points), member
    assert (
        await read_all(broker.bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=1, timeout_s=1) == []
    )


REFUSED_MEMBER = "m-ce-refused"


async def test_a_binary_event_without_an_id_or_with_a_bad_time_is_dead_lettered_as_structured(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    """Refused with the code structured mode gives, copied to the dead-letter topic unchanged
    (headers and value), and the valid event right behind it on the same key still applies."""
    refused: list[Record] = []
    for breaking in (_delete("id"), _set("time", "2026-11-20T10:15:00")):
        for mode in (binary, structured):
            event = sdk_event(purchase(REFUSED_MEMBER, "50.00", days_ago=30))
            breaking(event)
            refused.append(mode(event))
    records: list[Record] = []
    for record in refused:
        valid_behind = binary(sdk_event(purchase(REFUSED_MEMBER, "1.00", days_ago=30)))
        records += [record, valid_behind]

    await publish_records(broker.bootstrap, COMMERCE_PURCHASES, records)

    dead = await read_all(broker.bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=len(refused))
    assert [dict(r.headers)["error.code"] for r in dead] == [b"not-a-cloudevent"] * len(refused)
    assert [
        (r.key, r.value, list(r.headers)[: len(headers)])
        for r, (_, _, headers) in zip(dead, refused, strict=True)
    ] == [(key, value, list(headers)) for key, value, headers in refused], "copied unchanged"
    body = await eventually(
        lambda: balance_of(points_api, REFUSED_MEMBER), lambda b: b["available"] == len(refused)
    )
    assert body["lifetime_earned"] == len(refused), "nothing of the refused events was credited"


@pytest.mark.xdist_group("cloudevents-binary-mode-services")
async def test_every_service_takes_a_purchase_the_sdk_publishes_in_binary_mode(
    service: RunningService,
) -> None:
    event = purchase(f"m-ce-{service.name}", "80.00", days_ago=30)
    bootstrap = runtime_of(service.app).settings.kafka_bootstrap

    await publish_records(bootstrap, COMMERCE_PURCHASES, [binary(sdk_event(event))])

    conn = await asyncpg.connect(service.dsn)
    try:
        applied = await eventually(
            lambda: conn.fetchval(
                "SELECT count(*) FROM processed_event WHERE event_id = $1", event["id"]
            ),
            lambda count: count == 1,
            timeout_s=30,
        )
    finally:
        await conn.close()
    assert applied == 1, f"{service.name} did not apply the binary-mode purchase"
