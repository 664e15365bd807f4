"""The CloudEvents 1.0 envelope (structured JSON mode) every event on every topic travels in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.clock import system_clock
from loyalty_shared.events.fields import Id, Rfc3339Time

CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    """An event as read off the wire; `data` is validated later against the model for `type`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"]
    id: Id
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: Rfc3339Time
    subject: Id | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingEvent:
    """An event the platform emits: every one names the member it concerns and what caused it.

    A plain dataclass, not a model: `data` is the dump of a validated contract model and every
    other field is made by the platform, so validating again would only cost time (building the
    envelope as a pydantic model was a tenth of crediting a purchase)."""

    source: str
    type: str
    subject: str
    dataschema: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=system_clock)

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
