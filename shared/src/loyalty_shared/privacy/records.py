"""Stored Kafka records (parked refunds) cut down to what the platform reads.

A parked record is kept as read off Kafka so that its dead letter is the original; for an erased
member that original may carry whatever the producer added beyond the contract (unknown fields
are ignored on reading, not dropped). Minimising re-encodes it as a structured CloudEvent with
the envelope's attributes and the data as its contract model validated it (a binary-mode record
too: its `ce_*` headers go), and keeps only the content type and trace headers: it still applies
(or is dead-lettered) exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel

from loyalty_shared.events.decoding import (
    InvalidEvent,
    RawRecord,
    UnknownType,
    decode_event,
    header_value,
    is_binary_mode,
)
from loyalty_shared.events.envelope import CONTENT_TYPE

#: Headers a minimised record keeps: how to read it and which trace it belongs to.
KEPT_HEADERS = frozenset({"content-type", "traceparent", "tracestate"})


def member_of(value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> str | None:
    """The member a CloudEvent concerns (`subject`, else `data.member_id`), in structured or in
    binary mode (`subject` in the `ce_subject` header, the value is the data)."""
    try:
        event: Any = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        event = None
    if is_binary_mode(headers):
        subject = header_value(headers, "ce_subject")
        event = {"subject": subject, "data": event}
    if not isinstance(event, dict):
        return None
    data = event.get("data")
    member = event.get("subject") or (data.get("member_id") if isinstance(data, dict) else None)
    return member if isinstance(member, str) else None


def minimal(raw: RawRecord, models: Mapping[str, type[BaseModel]]) -> RawRecord | None:
    """`raw` with only what its contract model reads; None if it no longer decodes (then the
    caller drops it: nothing could apply it anyway)."""
    try:
        decoded = decode_event(raw.value, models, raw.headers)
    except InvalidEvent:
        return None
    if isinstance(decoded, UnknownType):
        return None
    envelope = decoded.envelope
    value = orjson.dumps(
        {
            "specversion": envelope.specversion,
            "id": envelope.id,
            "source": envelope.source,
            "type": envelope.type,
            "time": envelope.time.isoformat(),
            "subject": envelope.subject,
            "datacontenttype": "application/json",
            "data": decoded.data.model_dump(mode="json"),
        }
    )
    headers = tuple((k, v) for k, v in raw.headers if k in KEPT_HEADERS)
    if is_binary_mode(raw.headers):  # its content-type was the data's; the value is structured now
        headers = tuple((k, v) for k, v in headers if k != "content-type")
    if not any(k == "content-type" for k, _ in headers):
        headers = (("content-type", CONTENT_TYPE.encode()), *headers)
    return RawRecord(raw.topic, raw.key, value, headers)
