"""What happens to a due notification, decided from the member as they are now."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from loyalty_notifications.delivery.repository import Notification
from loyalty_notifications.members.recipient import Recipient
from loyalty_notifications.triggers.payloads import STAFF_TRIGGERS

WAITING = "waiting-for-enrolment"
RECHECK = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Decision:
    status: Literal["sending", "scheduled", "suppressed"]
    reason: str | None = None
    due_at: datetime | None = None


def decide(
    row: Notification,
    recipient: Recipient,
    *,
    now: datetime,
    channels: set[str],
    enrolment_wait: timedelta,
) -> Decision:
    """In order: past its moment → suppressed; member not enrolled → wait (up to
    `enrolment_wait`, then suppressed); channel not configured, no consent, turned off or no
    address → suppressed; inside quiet hours → deferred to their end; otherwise send."""
    if row.expires_at is not None and row.expires_at <= now:
        return Decision("suppressed", "expired: the moment for this message has passed")
    if row.channel not in channels:
        return Decision("suppressed", f"channel-unavailable: {row.channel} is not configured")
    if row.trigger in STAFF_TRIGGERS:
        return Decision("sending")
    if not recipient.enrolled:
        if row.created_at + enrolment_wait <= now:
            return Decision("suppressed", "not-enrolled: no member.enrolled arrived in time")
        recheck = min(now + RECHECK, row.created_at + enrolment_wait)
        return Decision("scheduled", WAITING, recheck)
    refusal = recipient.refusal(row.channel)
    if refusal is not None:
        return Decision("suppressed", refusal)
    quiet_until = recipient.quiet_until(now)
    if quiet_until is not None:
        reason = f"quiet-hours: deferred to {quiet_until.isoformat()}"
        return Decision("scheduled", reason, quiet_until)
    return Decision("sending")


def backoff(attempt: int, *, base_s: float, max_s: float) -> timedelta:
    """Exponential (base, 2 x base, 4 x base ..., capped) with jitter: 50 to 100 % of that."""
    delay = min(max_s, base_s * 2 ** max(0, attempt - 1))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))
