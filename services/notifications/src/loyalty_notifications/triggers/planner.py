"""From a trigger to notification rows: on which channels (README.md#notifications, "Who gets
what"), when due, and until when worth sending."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from loyalty_notifications.channels.registry import MEMBER_CHANNELS
from loyalty_notifications.members.recipient import Recipient
from loyalty_notifications.settings import NotificationsSettings
from loyalty_notifications.triggers.payloads import STAFF_TRIGGERS, Payload

NAMESPACE = uuid.UUID("5d1f3a4e-8f53-4d8e-9a51-0c7a4e1e6b21")


@dataclass(frozen=True, slots=True)
class NewNotification:
    id: uuid.UUID
    member_id: str
    trigger: str
    cause: str
    channel: str
    causation_id: str | None
    payload: Payload
    due_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Message:
    """A message a trigger calls for: which, with what, due when and worth sending until."""

    trigger: str
    payload: Payload
    due_at: datetime
    expires_at: datetime | None = None


def notification_id(trigger: str, cause: str, channel: str) -> uuid.UUID:
    """Deterministic: the same (trigger, cause, channel) is always the same notification."""
    return uuid.uuid5(NAMESPACE, f"{trigger}\x00{cause}\x00{channel}")


class Planner:
    def __init__(self, settings: NotificationsSettings, channels: Collection[str]) -> None:
        self.settings = settings
        self._channels = channels

    def channels_for(self, trigger: str, recipient: Recipient) -> list[str]:
        if trigger in STAFF_TRIGGERS:
            return ["webhook"]
        if not recipient.enrolled:
            return ["email"]
        usable = [
            c for c in MEMBER_CHANNELS if c in self._channels and recipient.refusal(c) is None
        ]
        return usable or ["email"]

    def plan(
        self, message: Message, *, recipient: Recipient, cause: str, causation_id: str | None
    ) -> list[NewNotification]:
        """One row per channel `message` goes on for `recipient`; `cause` makes it unique."""
        return [
            NewNotification(
                id=notification_id(message.trigger, cause, channel),
                member_id=recipient.member_id,
                trigger=message.trigger,
                cause=cause,
                channel=channel,
                causation_id=causation_id,
                payload=message.payload,
                due_at=message.due_at,
                expires_at=message.expires_at,
            )
            for channel in self.channels_for(message.trigger, recipient)
        ]

    def local_send_time(self, recipient: Recipient, day: date, hour: int | None = None) -> datetime:
        """`day` at the send hour in the member's time zone."""
        at = hour if hour is not None else self.settings.notifications_local_send_hour
        return datetime(day.year, day.month, day.day, at, tzinfo=recipient.zone)

    def digest_day(self, recipient: Recipient, now: datetime) -> date:
        """The day whose digest points earned now go into: today's until the digest hour."""
        local = now.astimezone(recipient.zone)
        if local.hour >= self.settings.notifications_digest_hour:
            return local.date() + timedelta(days=1)
        return local.date()
