"""Hostile Kafka records, as hypothesis strategies: a valid event of every type some service
consumes (docs/asyncapi.yaml), mutated field by field (dropped, retyped, numbers written as text
and text as numbers, huge values, NUL characters, deep nesting, megabyte payloads) or byte by
byte once encoded (invalid UTF-8, truncation, NUL bytes)."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from loyalty_shared.events.commerce import (
    MEMBER_ENROLLED,
    MEMBER_UPDATED,
    MemberActionV1,
    MemberProfileV1,
    PurchaseCompletedV1,
    PurchaseRefundedV1,
)
from loyalty_shared.events.loyalty import (
    FeedbackReceivedV1,
    FeedbackRequestedV1,
    GoodwillGrantedV1,
    PointsEarnedV1,
    PointsExpiringV1,
    TierChangedV1,
    TierDowngradeWarningV1,
)
from tests.support.events import envelope, purchase_data

#: Every event type a service consumes, with the model it is validated against.
MODELS: dict[str, type[BaseModel]] = {
    PurchaseCompletedV1.TYPE: PurchaseCompletedV1,
    PurchaseRefundedV1.TYPE: PurchaseRefundedV1,
    MEMBER_ENROLLED: MemberProfileV1,
    MEMBER_UPDATED: MemberProfileV1,
    MemberActionV1.TYPE: MemberActionV1,
    TierChangedV1.TYPE: TierChangedV1,
    TierDowngradeWarningV1.TYPE: TierDowngradeWarningV1,
    PointsEarnedV1.TYPE: PointsEarnedV1,
    PointsExpiringV1.TYPE: PointsExpiringV1,
    FeedbackRequestedV1.TYPE: FeedbackRequestedV1,
    FeedbackReceivedV1.TYPE: FeedbackReceivedV1,
    GoodwillGrantedV1.TYPE: GoodwillGrantedV1,
}

MEMBER = "m-7001"
ONE_MB = 1024 * 1024 + 1


def _at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def valid_data(event_type: str, member_id: str = MEMBER) -> dict[str, Any]:
    """The `data` of a valid event of `event_type`, every optional field present."""
    cause = str(uuid.uuid4())
    datas: dict[str, dict[str, Any]] = {
        PurchaseCompletedV1.TYPE: purchase_data(member_id, store_id="s-1"),
        PurchaseRefundedV1.TYPE: {
            "order_id": "o-1",
            "refund_id": "r-1",
            "member_id": member_id,
            "currency": "CNY",
            "amount": "100.00",
            "items": [{"sku": "sku-1", "category": "apparel", "quantity": 1, "unit_price": "1.00"}],
        },
        MEMBER_ENROLLED: {
            "member_id": member_id,
            "name": "李雷",
            "email": "li.lei@example.com",
            "phone": "+8613800000000",
            "locale": "zh-CN",
            "birthday": "1990-05-17",
            "consents": {"email": True, "sms": False, "push": True},
        },
        MemberActionV1.TYPE: {
            "member_id": member_id,
            "action_id": str(uuid.uuid4()),
            "action": "review.written",
            "occurred_at": _at(-1),
        },
        TierChangedV1.TYPE: {
            "member_id": member_id,
            "from_tier": "bronze",
            "to_tier": "silver",
            "direction": "up",
            "reason": "spend",
            "qualifying_spend": "5200.00",
            "valid_until": _at(365),
            "multiplier": "1.25",
            "causation_id": cause,
        },
        TierDowngradeWarningV1.TYPE: {
            "member_id": member_id,
            "tier": "gold",
            "would_drop_to": "silver",
            "evaluation_at": _at(30),
            "qualifying_spend_then": "1000.00",
            "spend_needed": "19000.00",
            "causation_id": cause,
        },
        PointsEarnedV1.TYPE: {
            "member_id": member_id,
            "order_id": "o-1",
            "points": 399,
            "status": "pending",
            "tier": "bronze",
            "multiplier": "1.0",
            "currency": "CNY",
            "total": "399.00",
            "purchased_at": _at(0),
            "available_at": _at(14),
            "expires_at": _at(365),
            "causation_id": cause,
        },
        PointsExpiringV1.TYPE: {
            "member_id": member_id,
            "points": 40,
            "expires_at": _at(30),
            "causation_id": cause,
        },
        FeedbackRequestedV1.TYPE: {
            "member_id": member_id,
            "invitation_id": str(uuid.uuid4()),
            "order_id": "o-1",
            "channel": "app",
            "purchased_at": _at(-3),
            "survey_token": "tok",
            "expires_at": _at(14),
            "causation_id": cause,
        },
        FeedbackReceivedV1.TYPE: {
            "member_id": member_id,
            "feedback_id": str(uuid.uuid4()),
            "score": 3,
            "csat": 2,
            "category": "detractor",
            "detractor": True,
            "order_id": "o-1",
            "channel": "store",
            "comment": "太慢了",
            "answered_at": _at(0),
            "causation_id": cause,
        },
        GoodwillGrantedV1.TYPE: {
            "member_id": member_id,
            "feedback_id": str(uuid.uuid4()),
            "points": 100,
            "reason": "detractor goodwill",
            "causation_id": cause,
        },
    }
    datas[MEMBER_UPDATED] = datas[MEMBER_ENROLLED]
    return datas[event_type]


def valid_event(event_type: str, member_id: str = MEMBER) -> dict[str, Any]:
    return envelope(event_type, valid_data(event_type, member_id))


def encode(event: Any) -> bytes:
    """JSON as a producer may write it: integers of any size (orjson stops at 64 bits)."""
    return json.dumps(event, ensure_ascii=False, allow_nan=False).encode()


# --- values ------------------------------------------------------------------------------------

_text = st.text(max_size=40)
#: Text nobody should have to store: NUL characters, control and bidi characters, huge strings.
_nasty_text = st.one_of(
    _text.map(lambda s: s + "\x00"),
    st.sampled_from(["\x00", " m-1 ", "", "\u202e\u200b\ufeff", "9" * 400]),
    st.integers(min_value=129, max_value=200_000).map(lambda n: "x" * n),
)
_numbers = st.one_of(
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**30, -1, 0]),
    st.floats(allow_nan=False, allow_infinity=False),  # not JSON: a producer writes neither
)
_json_scalars = st.one_of(st.none(), st.booleans(), _numbers, _text)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


def _retyped(value: Any) -> st.SearchStrategy[Any]:
    """Another value for a field: of another type, or the same type gone wrong."""
    options: list[st.SearchStrategy[Any]] = [_json, _nasty_text, _numbers]
    if isinstance(value, bool):
        options.append(st.sampled_from(["true", 1, 0, "yes"]))
    elif isinstance(value, int):
        options.append(st.just(str(value)))  # a number written as text
        options.append(st.just(float(value)))
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            options.append(st.just(len(value)))
        else:
            if math.isfinite(number):  # decimal text written as a number
                options += [st.just(number), st.just(int(number))]
        options.append(st.just(value + "\x00"))
        if len(value) < 1000:  # grown once, not again by a later mutation
            options.append(st.just(value * 1000))
    elif isinstance(value, list):
        if len(value) < 5:  # many items, grown once
            options.append(st.just(value * 5000))
        options.append(st.just({"0": value}))
    elif isinstance(value, dict):
        options.append(st.just(list(value.values())))
    return st.one_of(options)


def _paths(value: Any, at: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every field (dict key or list index) inside `value`."""
    found: list[tuple[str | int, ...]] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            found.append((*at, key))
            found += _paths(sub, (*at, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found.append((*at, index))
            found += _paths(sub, (*at, index))
    return found


def _replace(value: Any, at: tuple[str | int, ...], new: Any, *, drop: bool = False) -> Any:
    if not isinstance(value, dict | list):
        return value
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    head, rest = at[0], at[1:]
    if rest:
        copy[head] = _replace(copy[head], rest, new, drop=drop)
    elif drop:
        del copy[head]
    else:
        copy[head] = new
    return copy


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` (a JSON document) with one to three of its fields dropped or retyped."""
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(value)
        if not paths:
            break
        at = draw(st.sampled_from(paths), label="field")
        if draw(st.booleans()):
            value = _replace(value, at, None, drop=True)
        else:
            current: Any = value
            for key in at:
                current = current[key]
            value = _replace(value, at, draw(_retyped(current), label="value"))
    return value


def mutated_event(types: tuple[str, ...] = tuple(MODELS)) -> st.SearchStrategy[dict[str, Any]]:
    """A valid event of one of `types` with fields (envelope or data) dropped or retyped."""
    return st.sampled_from(sorted(types)).flatmap(lambda t: mutated(valid_event(t)))


def broken_bytes(encoded: bytes) -> st.SearchStrategy[bytes]:
    """`encoded` with invalid UTF-8 or a NUL byte put in somewhere, the rest kept or cut."""
    return st.tuples(
        st.integers(min_value=0, max_value=len(encoded)),
        st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\xf4\x90\x80\x80"]),
        st.booleans(),
    ).map(lambda t: encoded[: t[0]] + t[1] + (b"" if t[2] else encoded[t[0] :]))


def deep(depth: int) -> bytes:
    """JSON nested `depth` lists deep."""
    return b"[" * depth + b"]" * depth


@st.composite
def hostile_value(draw: st.DrawFn, types: tuple[str, ...] = tuple(MODELS)) -> bytes:
    """The bytes of a hostile record (starting from an event of one of `types`): a mutated event,
    bytes broken after encoding, or worse."""
    kind = draw(
        st.sampled_from(
            ["mutated", "mutated", "mutated", "bytes", "deep", "huge", "not-an-event", "binary"]
        ),
        label="kind",
    )
    if kind == "mutated":
        return encode(draw(mutated_event(types)))
    encoded = encode(valid_event(draw(st.sampled_from(sorted(types)))))
    if kind == "bytes":
        return draw(broken_bytes(encoded))
    if kind == "deep":
        depth = draw(st.sampled_from([300, 1_100, 100_000]))
        event = json.loads(encoded)
        where = draw(st.sampled_from(["data", "items", "extra"]))
        marker = b'"__deep__"'
        if where == "data":
            event["data"] = "__deep__"
        elif where == "items" and "items" in event["data"]:
            event["data"]["items"] = "__deep__"
        else:
            event["data"]["extra"] = "__deep__"
        return encode(event).replace(marker, deep(depth), 1)
    if kind == "huge":
        event = json.loads(encoded)
        field = draw(st.sampled_from(["member_id", "extra", "id"]))
        if field == "id":
            event["id"] = "e" * ONE_MB
        else:
            event["data"][field] = "x" * ONE_MB
        return encode(event)
    if kind == "not-an-event":
        return encode(draw(_json))
    return draw(st.binary(max_size=200))
