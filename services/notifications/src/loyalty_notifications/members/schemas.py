"""A member's message preferences as the app reads and writes them."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)


class Channels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: bool = True
    sms: bool = True
    push: bool = True


#: A wall-clock time in the member's time zone. Not JSON Schema's `format: time`, which is
#: RFC 3339's full-time and needs an offset: an offset is exactly what is refused here.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "examples": ["22:00"],
        }
    ),
]


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: LocalTime = Field(description="Local time quiet hours begin, e.g. 22:00")
    end: LocalTime = Field(description="Local time they end, e.g. 08:00 (may be the next day)")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local times, without an offset")
        return self


class PreferencesUpdate(BaseModel):
    """The whole set of preferences (PUT replaces them): what is left out takes its default."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channels": {"email": True, "sms": False, "push": True},
                    "quiet_hours": {"start": "22:00", "end": "08:00"},
                    "time_zone": "Asia/Shanghai",
                    "language": "zh-CN",
                }
            ]
        },
    )

    channels: Channels = Field(default_factory=Channels, description="On unless turned off")
    quiet_hours: QuietHours | None = Field(
        None, description="Messages due inside them wait until they end (never dropped)"
    )
    time_zone: str | None = Field(
        None,
        # the longest IANA name has 32 characters; zoneinfo imports a package per "/" of a
        # name it looks up, and a long enough one overflowed the stack (a 500)
        max_length=64,
        description="IANA time zone, e.g. Asia/Shanghai; default: the service's setting",
    )
    language: Literal["zh-CN", "en"] | None = Field(
        None, description="Default: the locale of the member's profile"
    )

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class Effective(BaseModel):
    time_zone: str
    language: str


class Preferences(PreferencesUpdate):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "channels": {"email": True, "sms": False, "push": True},
                    "quiet_hours": {"start": "22:00", "end": "08:00"},
                    "time_zone": "Asia/Shanghai",
                    "language": "zh-CN",
                    "enrolled": True,
                    "consents": {"email": True, "sms": True, "push": True},
                    "effective": {"time_zone": "Asia/Shanghai", "language": "zh-CN"},
                    "updated_at": "2026-12-05T09:30:00+08:00",
                }
            ]
        }
    )

    member_id: str
    enrolled: bool = Field(description="False until the shop's member.enrolled arrived")
    consents: Channels | None = Field(
        description="What the member agreed to with the shop (from member.enrolled/updated); "
        "a channel needs both consent and preference"
    )
    effective: Effective
    updated_at: datetime | None
