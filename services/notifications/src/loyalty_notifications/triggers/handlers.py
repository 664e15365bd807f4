"""The events that trigger messages, one rule each (docs/events.md#messages-to-members). Rows are
recorded in the consumer's transaction; one per (trigger, cause, channel), so a replay records
nothing new."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeAlias, TypeVar
from urllib.parse import urlencode

from loyalty_notifications.members import repository as members
from loyalty_notifications.members.recipient import Recipient
from loyalty_notifications.triggers import payloads, repository
from loyalty_notifications.triggers.planner import NewNotification, Planner
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.loyalty import (
    FeedbackReceivedV1,
    FeedbackRequestedV1,
    PlatformEvent,
    PointsEarnedV1,
    PointsExpiringV1,
    TierChangedV1,
    TierDowngradeWarningV1,
)
from loyalty_shared.kafka.routing import BatchHandler, Refusal

#: An event of the platform's, about one member.
Event = TypeVar("Event", bound=PlatformEvent)

#: The messages one event makes for its member, now.
Rule: TypeAlias = Callable[[Decoded[Event], Recipient, datetime], list[NewNotification]]


def _per_event(planner: Planner, clock: Clock, rule: Rule[Event]) -> BatchHandler[Event]:
    async def handle(conn: Connection, events: Sequence[Decoded[Event]]) -> Sequence[Refusal]:
        now = clock()
        who = await members.recipients(
            conn,
            [e.data.member_id for e in events],
            default_time_zone=planner.settings.notifications_default_time_zone,
        )
        rows = [row for e in events for row in rule(e, who[e.data.member_id], now)]
        await repository.record(conn, rows, now)
        return ()

    return handle


def tier_changed_handler(planner: Planner, clock: Clock) -> BatchHandler[TierChangedV1]:
    def rule(
        event: Decoded[TierChangedV1], recipient: Recipient, now: datetime
    ) -> list[NewNotification]:
        data = event.data
        if data.direction == "same":
            return []
        return planner.plan(
            trigger=payloads.TIER_UPGRADED if data.direction == "up" else payloads.TIER_DOWNGRADED,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.tier_changed(
                from_tier=data.from_tier, to_tier=data.to_tier, valid_until=data.valid_until
            ),
            due_at=now,
        )

    return _per_event(planner, clock, rule)


def points_expiring_handler(planner: Planner, clock: Clock) -> BatchHandler[PointsExpiringV1]:
    notice = timedelta(days=planner.settings.notifications_expiry_notice_days)

    def rule(
        event: Decoded[PointsExpiringV1], recipient: Recipient, now: datetime
    ) -> list[NewNotification]:
        data = event.data
        day = (data.expires_at.astimezone(recipient.zone) - notice).date()
        return planner.plan(
            trigger=payloads.POINTS_EXPIRING,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.points_expiring(points=data.points, expires_at=data.expires_at),
            due_at=max(now, planner.local_send_time(recipient, day)),
            expires_at=data.expires_at,
        )

    return _per_event(planner, clock, rule)


def downgrade_warning_handler(
    planner: Planner, clock: Clock
) -> BatchHandler[TierDowngradeWarningV1]:
    def rule(
        event: Decoded[TierDowngradeWarningV1], recipient: Recipient, now: datetime
    ) -> list[NewNotification]:
        data = event.data
        return planner.plan(
            trigger=payloads.TIER_DOWNGRADE_WARNING,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.tier_downgrade_warning(
                tier=data.tier,
                would_drop_to=data.would_drop_to,
                evaluation_at=data.evaluation_at,
                spend_needed=data.spend_needed,
            ),
            due_at=now,
            expires_at=data.evaluation_at,
        )

    return _per_event(planner, clock, rule)


def feedback_requested_handler(planner: Planner, clock: Clock) -> BatchHandler[FeedbackRequestedV1]:
    base = planner.settings.notifications_survey_base_url

    def rule(
        event: Decoded[FeedbackRequestedV1], recipient: Recipient, now: datetime
    ) -> list[NewNotification]:
        data = event.data
        joiner = "&" if "?" in base else "?"
        return planner.plan(
            trigger=payloads.FEEDBACK_INVITATION,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.feedback_invitation(
                order_id=data.order_id,
                survey_url=f"{base}{joiner}{urlencode({'token': data.survey_token})}",
                expires_at=data.expires_at,
            ),
            due_at=now,
            expires_at=data.expires_at,
        )

    return _per_event(planner, clock, rule)


def feedback_received_handler(planner: Planner, clock: Clock) -> BatchHandler[FeedbackReceivedV1]:
    def rule(
        event: Decoded[FeedbackReceivedV1], recipient: Recipient, now: datetime
    ) -> list[NewNotification]:
        data = event.data
        if not data.detractor:
            return []
        return planner.plan(
            trigger=payloads.DETRACTOR_ALERT,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.detractor_alert(
                member_id=data.member_id,
                feedback_id=data.feedback_id,
                score=data.score,
                comment=data.comment,
                order_id=data.order_id,
                channel=data.channel,
                answered_at=data.answered_at,
            ),
            due_at=now,
        )

    return _per_event(planner, clock, rule)


def points_earned_handler(planner: Planner, clock: Clock) -> BatchHandler[PointsEarnedV1]:
    """At most one message a day: each member's points of a local day add up in one digest."""

    async def handle(
        conn: Connection, events: Sequence[Decoded[PointsEarnedV1]]
    ) -> Sequence[Refusal]:
        now = clock()
        who = await members.recipients(
            conn,
            [e.data.member_id for e in events],
            default_time_zone=planner.settings.notifications_default_time_zone,
        )
        days: dict[str, tuple[int, int, str]] = {}  # member -> points, purchases, first cause
        for event in events:
            data = event.data
            points, purchases, first = days.get(data.member_id, (0, 0, event.envelope.id))
            days[data.member_id] = (points + data.points, purchases + 1, first)
        for member_id, (points, purchases, first) in sorted(days.items()):
            recipient = who[member_id]
            day = planner.digest_day(recipient, now)
            for row in planner.plan(
                trigger=payloads.POINTS_DIGEST,
                recipient=recipient,
                cause=f"digest:{member_id}:{day.isoformat()}",
                causation_id=first,
                payload=payloads.points_digest(day=day, points=points, purchases=purchases),
                due_at=max(
                    now,
                    planner.local_send_time(
                        recipient, day, planner.settings.notifications_digest_hour
                    ),
                ),
            ):
                await repository.add_to_digest(conn, row, now)
        return ()

    return handle


async def on_purchases(
    conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
) -> Sequence[Refusal]:
    await repository.record_purchases(
        conn, [e.data.member_id for e in events], [e.envelope.time for e in events]
    )
    return ()
