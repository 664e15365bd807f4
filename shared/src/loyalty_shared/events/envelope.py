"""The CloudEvents 1.0 envelope (structured JSON mode) every event on every topic travels in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.clock import system_clock
from loyalty_shared.events.fields import Id, Rfc3339Time

CONTENT_TYPE = "application/cloudevents+json"


def _subject_required(schema: dict[str, Any]) -> None:
    # The model reads an event without a subject so that the decoder can refuse it as
    # `subject-mismatch`: the contract requires one, an id.
    subject = schema["properties"]["subject"]
    subject.pop("default", None)
    if "anyOf" in subject:
        subject["anyOf"] = [part for part in subject["anyOf"] if part != {"type": "null"}]
    required = {*schema["required"], "subject"}
    schema["required"] = [name for name in schema["properties"] if name in required]


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 envelope (structured JSON mode) as the platform reads it. Other
    attributes and extensions are allowed and ignored; `data` is validated later against the
    model for `type`."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=_subject_required)

    specversion: Literal["1.0"]
    id: Id = Field(
        description="The idempotency key (a UUID is a good choice). The same `id` delivered "
        "again has exactly one effect, whatever its content."
    )
    source: str = Field(min_length=1, description="The producer, for example `shop/web`.")
    type: str = Field(
        min_length=1,
        description="The event type. A type the consumer does not handle is skipped and counted.",
    )
    time: Rfc3339Time = Field(
        description="When it happened, RFC 3339 text with an offset (never a number). Required "
        "by the platform (optional in CloudEvents); for purchase.completed it starts the return "
        "window and the expiry."
    )
    subject: Id | None = Field(
        default=None,
        description="The member id; must equal `data.member_id`, otherwise the event is refused "
        "with `subject-mismatch` (a missing subject too).",
    )
    datacontenttype: str | None = Field(
        default=None,
        description="Optional (`application/json`); not checked on input.",
        examples=["application/json"],
    )
    dataschema: str | None = Field(default=None, description="Optional; not checked on input.")
    data: dict[str, Any] = Field(description="The event's data; its rules depend on `type`.")


class OutgoingEnvelope(CloudEvent):
    """The CloudEvents envelope of every event the platform publishes: what
    `OutgoingEvent.to_json` writes (tests/shared check it against this model)."""

    id: str = Field(
        description="A UUID. For every event of the points service it is derived from the "
        "event's type and `data.causation_id` (UUIDv5 in the URL namespace of "
        "`loyalty:<type>:<causation_id>`), so the same cause always yields the same id and a "
        "re-emission is recognised downstream as a duplicate. For points.earned the cause is the "
        "purchase.completed event."
    )
    source: str = Field(
        description="The publishing service, `loyalty/<service>`.", examples=["loyalty/points"]
    )
    type: str = Field(min_length=1, description="The event type; each message fixes it.")
    time: Rfc3339Time = Field(description="When the platform created the event, in UTC (`+00:00`).")
    subject: str = Field(
        description="The member id, equal to `data.member_id` and to the Kafka key."
    )
    datacontenttype: Literal["application/json"]
    dataschema: str = Field(
        description="`urn:loyalty:schema:<type>:v<version>`, the version of `data`.",
        json_schema_extra={"pattern": "^urn:loyalty:schema:[a-z._]+:v[0-9]+$"},
    )


class OutgoingEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event the platform emits: every one names the member it concerns and what caused it.

    A plain record, not a model: `data` is the dump of a validated contract model and every
    other field is made by the platform, so validating again would only cost time (building the
    envelope as a pydantic model was a tenth of crediting a purchase)."""

    source: str
    type: str
    subject: str
    dataschema: str
    data: dict[str, Any]
    id: str = msgspec.field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = msgspec.field(default_factory=system_clock)

    def to_json(self) -> bytes:
        return orjson.dumps(
            cloud_event(
                self.type,
                self.data,
                source=self.source,
                subject=self.subject,
                event_id=self.id,
                time=self.time,
                dataschema=self.dataschema,
            )
        )


def cloud_event(
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    subject: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
    dataschema: str | None = None,
) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured JSON mode, as the JSON object a producer writes
    (`orjson.dumps` it): a new id and the current time unless given. What the platform emits,
    and what the tools, tests and benchmarks publish as the shop would."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "time": (time or system_clock()).isoformat(),
    }
    if subject is not None:
        event["subject"] = subject
    event["datacontenttype"] = "application/json"
    if dataschema is not None:
        event["dataschema"] = dataschema
    event["data"] = data
    return event


def schema_uri(event_type: str, version: int) -> str:
    """The `dataschema` of an event the platform emits: versioned, documented in docs/asyncapi."""
    return f"urn:loyalty:schema:{event_type}:v{version}"
