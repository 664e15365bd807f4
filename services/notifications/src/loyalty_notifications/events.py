"""`notification.sent` and `notification.failed`, written to the outbox with the row's change."""

from __future__ import annotations

from datetime import datetime

from loyalty_notifications.delivery.repository import Notification
from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_events
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.envelope import OutgoingEvent
from loyalty_shared.events.loyalty import NotificationFailedV1, NotificationSentV1
from loyalty_shared.kafka.topics import LOYALTY_NOTIFICATIONS

SOURCE = "loyalty/notifications"


def sent(row: Notification, at: datetime) -> OutgoingEvent:
    data = NotificationSentV1(
        member_id=row.member_id,
        notification_id=str(row.id),
        trigger=row.trigger,
        channel=row.channel,
        sent_at=at,
        causation_id=row.causation_id,
    )
    return platform_event(data, source=SOURCE, cause=f"{row.id}:sent")


def failed(row: Notification, reason: str, at: datetime) -> OutgoingEvent:
    data = NotificationFailedV1(
        member_id=row.member_id,
        notification_id=str(row.id),
        trigger=row.trigger,
        channel=row.channel,
        reason=reason[:500] or "failed",
        failed_at=at,
        causation_id=row.causation_id,
    )
    return platform_event(data, source=SOURCE, cause=f"{row.id}:failed")


async def emit(conn: Connection, events: list[OutgoingEvent]) -> None:
    await enqueue_events(conn, topic=LOYALTY_NOTIFICATIONS, events=events)
