"""One interface for every channel: send a rendered message, or say how it failed.

A channel raises `TransientFailure` for what may work later (timeouts, connection errors, 5xx,
SMTP 4xx: retried with backoff) and `PermanentFailure` for what never will (SMTP 5xx, 4xx from
a webhook or provider: failed at once). Anything else it raises is treated as transient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

_CONTACTS = re.compile(
    r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+"  # email addresses
    r"|\+?\d[\d ().-]{6,}\d"  # phone numbers (any run of 8+ digits and separators)
)


def without_contacts(text: str) -> str:
    """A peer's answer with the email addresses and phone numbers it echoed back removed: it
    becomes a failure reason, which is logged, stored and published in `notification.failed`."""
    return _CONTACTS.sub("redacted", text)


@dataclass(frozen=True, slots=True)
class Message:
    notification_id: str
    member_id: str
    trigger: str
    channel: str
    #: The address on this channel: an email address, a phone number; None for push and webhooks.
    to: str | None
    subject: str
    body: str
    language: str
    data: dict[str, Any] = field(default_factory=dict)


class DeliveryFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:500]


class TransientFailure(DeliveryFailure):
    """Worth trying again later."""


class PermanentFailure(DeliveryFailure):
    """Trying again would fail the same way."""


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> None: ...

    async def close(self) -> None: ...


def from_http_status(status: int, text: str, *, where: str) -> DeliveryFailure | None:
    """None for 2xx; 408, 429 and 5xx are transient; other 4xx (and anything else) permanent."""
    if 200 <= status < 300:
        return None
    reason = f"{where} answered {status}: {without_contacts(text[:200])}"
    if status in (408, 425, 429) or status >= 500:
        return TransientFailure(reason)
    return PermanentFailure(reason)
