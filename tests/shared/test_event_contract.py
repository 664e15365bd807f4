"""What the platform accepts from the e-commerce backend, and what it refuses (contract section 1).

Every refused event carries a reason code that ends up in the dead-letter headers:
`invalid-json`, `not-a-cloudevent`, `invalid-data` or `subject-mismatch`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import hypothesis
import hypothesis.strategies as st
import pydantic
import pytest
from pydantic import BaseModel

from loyalty_shared.events.commerce import (
    MEMBER_ENROLLED,
    MEMBER_UPDATED,
    MemberProfileV1,
    PurchaseCompletedV1,
    PurchaseRefundedV1,
)
from loyalty_shared.events.decoding import Decoded, InvalidEvent, UnknownType, decode_event
from loyalty_shared.events.emitting import derived_event_id
from loyalty_shared.events.envelope import cloud_event
from loyalty_shared.events.loyalty import TierChangedV1
from tests.support.events import encode, envelope, purchase_data

MODELS: dict[str, type[BaseModel]] = {
    PurchaseCompletedV1.TYPE: PurchaseCompletedV1,
    PurchaseRefundedV1.TYPE: PurchaseRefundedV1,
    MEMBER_ENROLLED: MemberProfileV1,
    MEMBER_UPDATED: MemberProfileV1,
    TierChangedV1.TYPE: TierChangedV1,
}

#: The purchase example from the contract, byte for byte what the backend would send.
CONTRACT_PURCHASE: dict[str, Any] = {
    "specversion": "1.0",
    "id": "9f3c0e1e-6c1b-4a53-9d0b-0d8f1f0a2b11",
    "source": "shop/web",
    "type": "purchase.completed",
    "time": "2026-11-20T10:15:00+08:00",
    "subject": "m-1001",
    "datacontenttype": "application/json",
    "data": {
        "order_id": "o-20261120-0001",
        "member_id": "m-1001",
        "channel": "online",
        "currency": "CNY",
        "total": "399.00",
        "items": [
            {"sku": "sku-1", "category": "apparel", "quantity": 1, "unit_price": "399.00"},
        ],
    },
}


def refund_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": "o-20261120-0001",
        "refund_id": "r-1",
        "member_id": "m-1001",
        "currency": "CNY",
        "amount": "100.00",
    }
    data.update(overrides)
    return data


def profile_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "member_id": "m-1001",
        "name": "Li Wei",
        "email": "li.wei@example.com",
        "locale": "zh-CN",
        "birthday": "1990-05-17",
        "consents": {"email": True, "sms": False, "push": True},
    }
    data.update(overrides)
    return data


def test_the_event_builder_writes_the_contracts_example_byte_for_byte() -> None:
    example = CONTRACT_PURCHASE
    built = cloud_event(
        example["type"],
        example["data"],
        source=example["source"],
        subject=example["subject"],
        event_id=example["id"],
        time=datetime.fromisoformat(example["time"]),
    )

    assert encode(built) == encode(example)


def a_purchase(**data_overrides: Any) -> dict[str, Any]:
    return envelope("purchase.completed", purchase_data("m-1001", **data_overrides))


def a_refund(**data_overrides: Any) -> dict[str, Any]:
    return envelope("purchase.refunded", refund_data(**data_overrides))


def without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def remove(event: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in event.items() if k != key}

    return remove


def refused_code(value: bytes | None) -> str:
    with pytest.raises(InvalidEvent) as refused:
        decode_event(value, MODELS)
    return refused.value.code


# --- what is accepted ---------------------------------------------------------------------


def test_the_purchase_example_from_the_contract_is_accepted() -> None:
    decoded = decode_event(encode(CONTRACT_PURCHASE), MODELS)

    assert isinstance(decoded, Decoded)
    assert decoded.envelope.id == "9f3c0e1e-6c1b-4a53-9d0b-0d8f1f0a2b11"
    assert decoded.envelope.subject == "m-1001"
    assert decoded.envelope.time.utcoffset() is not None
    assert decoded.envelope.time.isoformat() == "2026-11-20T10:15:00+08:00"
    purchase = decoded.data
    assert isinstance(purchase, PurchaseCompletedV1)
    assert purchase.member_id == "m-1001"
    assert purchase.total == Decimal("399.00")
    assert purchase.currency == "CNY"
    assert purchase.channel == "online"
    assert purchase.store_id is None
    assert purchase.items[0].quantity == 1


def test_a_store_purchase_with_a_store_id_and_several_items_is_accepted() -> None:
    event = a_purchase(
        channel="store",
        store_id="store-sh-01",
        total="120.50",
        items=[
            {"sku": "sku-1", "category": "food", "quantity": 2, "unit_price": "50.25"},
            {"sku": "sku-2", "category": "food", "quantity": 1, "unit_price": "20"},
        ],
    )

    decoded = decode_event(encode(event), MODELS)

    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, PurchaseCompletedV1)
    assert decoded.data.store_id == "store-sh-01"
    assert [item.quantity for item in decoded.data.items] == [2, 1]


def test_a_free_purchase_with_a_zero_total_is_accepted() -> None:
    decoded = decode_event(encode(a_purchase(total="0.00")), MODELS)

    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, PurchaseCompletedV1)
    assert decoded.data.total == 0


def test_a_refund_is_accepted() -> None:
    decoded = decode_event(encode(a_refund()), MODELS)

    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, PurchaseRefundedV1)
    assert decoded.data.amount == Decimal("100.00")
    assert decoded.data.items is None


@pytest.mark.parametrize("event_type", [MEMBER_ENROLLED, MEMBER_UPDATED])
def test_a_member_profile_is_accepted(event_type: str) -> None:
    decoded = decode_event(encode(envelope(event_type, profile_data())), MODELS)

    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, MemberProfileV1)
    assert decoded.data.consents.push is True


def test_a_member_profile_without_a_locale_defaults_to_chinese() -> None:
    data = profile_data()
    del data["locale"]

    decoded = decode_event(encode(envelope(MEMBER_ENROLLED, data)), MODELS)

    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, MemberProfileV1)
    assert decoded.data.locale == "zh-CN"


def test_unknown_fields_in_the_envelope_and_in_the_data_are_ignored() -> None:
    event = a_purchase(loyalty_note="added in a later version", gift_wrap=True)
    event["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event["partitionkey"] = "m-1001"

    decoded = decode_event(encode(event), MODELS)

    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, PurchaseCompletedV1)
    assert decoded.data.total == Decimal("399.00")


def test_an_event_id_of_exactly_128_characters_is_accepted() -> None:
    event = a_purchase()
    event["id"] = "e" * 128

    decoded = decode_event(encode(event), MODELS)

    assert isinstance(decoded, Decoded)
    assert decoded.envelope.id == "e" * 128


def test_an_unknown_event_type_is_skipped_not_refused() -> None:
    event = envelope("purchase.gift_card_bought", {"member_id": "m-1001"})

    outcome = decode_event(encode(event), MODELS)

    assert outcome == UnknownType("purchase.gift_card_bought")


def test_an_unknown_event_type_is_skipped_even_when_its_data_would_be_invalid() -> None:
    event = envelope("loyalty.experiment", {"total": -1}, subject="m-1001")

    assert isinstance(decode_event(encode(event), MODELS), UnknownType)


# --- what is refused ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"this is not json", id="a value that is not JSON"),
        pytest.param(b'{"specversion": "1.0", ', id="JSON cut off halfway"),
        pytest.param(b"\xff\xfe{}", id="bytes that are not UTF-8"),
        pytest.param(b"", id="an empty value"),
        pytest.param(None, id="a record with no value (tombstone)"),
    ],
)
def test_a_value_that_is_not_json_is_refused_as_invalid_json(value: bytes | None) -> None:
    assert refused_code(value) == "invalid-json"


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(event: dict[str, Any]) -> dict[str, Any]:
        return {**event, key: value}

    return change


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(without("specversion"), id="no specversion"),
        pytest.param(_set("specversion", "0.3"), id="specversion 0.3"),
        pytest.param(_set("specversion", 1.0), id="specversion as a number"),
        pytest.param(without("id"), id="no id"),
        pytest.param(_set("id", ""), id="an empty id"),
        pytest.param(_set("id", "e" * 129), id="an id longer than 128 characters"),
        pytest.param(without("source"), id="no source"),
        pytest.param(without("type"), id="no type"),
        pytest.param(without("time"), id="no time"),
        pytest.param(_set("time", "2026-11-20T10:15:00"), id="a time without an offset"),
        pytest.param(_set("time", "yesterday"), id="a time that is not a time"),
    ],
)
def test_an_event_that_is_not_a_cloudevent_is_refused(
    spoil: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    assert refused_code(encode(spoil(a_purchase()))) == "not-a-cloudevent"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"[]", id="a JSON array"),
        pytest.param(b'"purchase.completed"', id="a JSON string"),
        pytest.param(b"42", id="a JSON number"),
        pytest.param(b"null", id="JSON null"),
    ],
)
def test_json_that_is_not_an_object_is_refused_as_not_a_cloudevent(value: bytes) -> None:
    assert refused_code(value) == "not-a-cloudevent"


@pytest.mark.parametrize(
    "time",
    [
        pytest.param(1_763_604_900, id="seconds since the epoch as a JSON number"),
        pytest.param("1763604900", id="seconds since the epoch as a string"),
    ],
)
def test_a_time_that_is_not_rfc_3339_is_refused(time: Any) -> None:
    event = a_purchase()
    event["time"] = time

    assert refused_code(encode(event)) == "not-a-cloudevent"


LINE = {"sku": "sku-1", "category": "apparel", "quantity": 1, "unit_price": "399.00"}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(purchase_data(total="-1.00"), id="a negative total"),
        pytest.param({**purchase_data(), "total": 399.0}, id="a total sent as a JSON number"),
        pytest.param({**purchase_data(), "total": 399}, id="a total sent as a JSON integer"),
        pytest.param(purchase_data(total="399.001"), id="a total with 3 fractional digits"),
        pytest.param(purchase_data(total="NaN"), id="a total of NaN"),
        pytest.param(purchase_data(total="Infinity"), id="an infinite total"),
        pytest.param(purchase_data(total="399,00"), id="a total with a decimal comma"),
        pytest.param(purchase_data(total=""), id="an empty total"),
        pytest.param(purchase_data(currency="XYZ"), id="currency XYZ which is not ISO 4217"),
        pytest.param(purchase_data(currency="cny"), id="currency in lower case"),
        pytest.param(purchase_data(currency="RMB"), id="currency RMB instead of CNY"),
        pytest.param(purchase_data(channel="phone"), id="channel phone"),
        pytest.param(purchase_data(items=[{**LINE, "quantity": 0}]), id="quantity 0"),
        pytest.param(purchase_data(items=[{**LINE, "quantity": -1}]), id="negative quantity"),
        pytest.param(purchase_data(items=[{**LINE, "quantity": "1"}]), id="quantity as a string"),
        pytest.param(purchase_data(items=[{**LINE, "quantity": 1.5}]), id="quantity 1.5"),
        pytest.param(purchase_data(items=[{**LINE, "quantity": True}]), id="quantity true"),
        pytest.param(
            purchase_data(items=[{**LINE, "unit_price": "-0.01"}]), id="negative unit price"
        ),
        pytest.param(purchase_data(items=[{**LINE, "unit_price": 9.9}]), id="unit price number"),
        pytest.param(purchase_data(order_id="o" * 129), id="order_id of 129 characters"),
        pytest.param(purchase_data(order_id=" o-1"), id="order_id with a leading space"),
        pytest.param(purchase_data(member_id=""), id="an empty member_id"),
        pytest.param({k: v for k, v in purchase_data().items() if k != "total"}, id="no total"),
        pytest.param({k: v for k, v in purchase_data().items() if k != "items"}, id="no items"),
    ],
)
def test_a_purchase_that_breaks_the_data_rules_is_refused_as_invalid_data(
    data: dict[str, Any],
) -> None:
    event = envelope("purchase.completed", data, subject="m-1001")

    assert refused_code(encode(event)) == "invalid-data"


def test_an_order_id_of_exactly_128_characters_is_accepted() -> None:
    decoded = decode_event(encode(a_purchase(order_id="o" * 128)), MODELS)

    assert isinstance(decoded, Decoded)


@pytest.mark.parametrize(
    "total",
    [
        pytest.param("1_000.00", id="digits grouped with underscores"),
        pytest.param("4E+2", id="scientific notation"),
        pytest.param(" 399.00", id="a leading space"),
    ],
)
def test_money_written_other_than_as_plain_decimal_digits_is_refused(total: str) -> None:
    assert refused_code(encode(a_purchase(total=total))) == "invalid-data"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(refund_data(amount="0.00"), id="a refund of 0.00"),
        pytest.param(refund_data(amount="-5.00"), id="a negative refund"),
        pytest.param(refund_data(amount=100.0), id="a refund amount sent as a JSON number"),
        pytest.param(refund_data(currency="XYZ"), id="a refund in currency XYZ"),
        pytest.param(refund_data(refund_id=""), id="an empty refund_id"),
        pytest.param(
            {k: v for k, v in refund_data().items() if k != "refund_id"}, id="no refund_id"
        ),
        pytest.param(refund_data(items=[{**LINE, "quantity": 0}]), id="a refunded quantity 0"),
    ],
)
def test_a_refund_that_breaks_the_data_rules_is_refused_as_invalid_data(
    data: dict[str, Any],
) -> None:
    event = envelope("purchase.refunded", data, subject="m-1001")

    assert refused_code(encode(event)) == "invalid-data"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(profile_data(locale="fr"), id="a locale the contract does not offer"),
        pytest.param(profile_data(birthday="17/05/1990"), id="a birthday not YYYY-MM-DD"),
        pytest.param(profile_data(email="not-an-email"), id="an email that is not one"),
        pytest.param(profile_data(name=""), id="an empty name"),
    ],
)
def test_a_member_profile_that_breaks_the_data_rules_is_refused_as_invalid_data(
    data: dict[str, Any],
) -> None:
    event = envelope(MEMBER_ENROLLED, data, subject="m-1001")

    assert refused_code(encode(event)) == "invalid-data"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            envelope("purchase.completed", purchase_data("m-1001"), subject="m-2002"),
            id="a purchase whose subject is another member",
        ),
        pytest.param(
            without("subject")(envelope("purchase.completed", purchase_data("m-1001"))),
            id="a purchase without a subject",
        ),
        pytest.param(
            envelope("purchase.refunded", refund_data(member_id="m-1001"), subject="m-2002"),
            id="a refund whose subject is another member",
        ),
        pytest.param(
            envelope(MEMBER_UPDATED, profile_data(member_id="m-1001"), subject="M-1001"),
            id="a profile whose subject differs only in case",
        ),
    ],
)
def test_an_event_whose_subject_is_not_its_member_is_refused_as_subject_mismatch(
    event: dict[str, Any],
) -> None:
    assert refused_code(encode(event)) == "subject-mismatch"


def test_a_refusal_explains_which_field_is_wrong() -> None:
    with pytest.raises(InvalidEvent) as refused:
        decode_event(encode(a_purchase(total="-1.00")), MODELS)

    assert refused.value.code == "invalid-data"
    assert "total" in refused.value.detail


# --- what was decoded cannot be changed afterwards ------------------------------------------


def assign(model: pydantic.BaseModel, field: str, value: object) -> None:
    """`model.field = value`, which the type checker rightly refuses on a frozen model."""
    setattr(model, field, value)


def test_a_decoded_purchase_cannot_be_changed() -> None:
    decoded = decode_event(encode(CONTRACT_PURCHASE), MODELS)
    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, PurchaseCompletedV1)

    with pytest.raises(pydantic.ValidationError):
        assign(decoded.data, "total", Decimal("1000000.00"))
    with pytest.raises(pydantic.ValidationError):
        assign(decoded.data.items[0], "quantity", 99)
    with pytest.raises(pydantic.ValidationError):
        assign(decoded.envelope, "subject", "m-2002")
    assert decoded.data.total == Decimal("399.00")


def test_a_decoded_refund_and_profile_cannot_be_changed() -> None:
    refund = decode_event(encode(a_refund()), MODELS)
    profile = decode_event(encode(envelope(MEMBER_ENROLLED, profile_data())), MODELS)
    assert isinstance(refund, Decoded)
    assert isinstance(profile, Decoded)
    assert isinstance(refund.data, PurchaseRefundedV1)
    assert isinstance(profile.data, MemberProfileV1)

    with pytest.raises(pydantic.ValidationError):
        assign(refund.data, "amount", Decimal("0.01"))
    with pytest.raises(pydantic.ValidationError):
        assign(profile.data.consents, "sms", True)


@hypothesis.given(event_type=st.text(), cause=st.text())
def test_an_emitted_event_id_is_the_uuid5_of_its_type_and_cause(
    event_type: str, cause: str
) -> None:
    # Ids already on Kafka were made with uuid.uuid5: a replay after an upgrade must make the
    # same ones, or downstream inboxes would apply it again.
    expected = uuid.uuid5(uuid.NAMESPACE_URL, f"loyalty:{event_type}:{cause}")

    assert derived_event_id(event_type, cause) == str(expected)
