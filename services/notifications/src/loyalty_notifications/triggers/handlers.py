"""Events that trigger messages, each rule in one place. Every handler records its rows in the
transaction that consumes the event (the consumer's), so a message is never lost between Kafka
and the database, and the unique (trigger, cause, channel) makes a replay record nothing new.

- tier.changed up / down: tier_upgraded / tier_downgraded (kindly worded), due now; a change
  to the same tier sends nothing.
- points.earned: the day's points_digest, one per member and local day, due at the digest
  hour; points earned after it go into the next day's.
- points.expiring: points_expiring, due at the send hour of the member's local day that is the
  notice (30 days) before expiry, or now if that has passed; not sent once the points expired.
- tier.downgrade_warning: tier_downgrade_warning, due now, not sent after the evaluation.
- feedback.requested: feedback_invitation with the survey link (base URL + `?token=`), not
  sent once the link expired.
- feedback.received with `detractor`: detractor_alert to the customer-service webhook, due now.
- reward.redeemed: reward_redeemed with the coupon code, due now, not sent once it expired.
- coupon.expiring: coupon_expiring, due from the send hour of the member's local day, not sent
  once the coupon expired.
- coupon.used / coupon.voided: no message; a coupon message not sent yet is suppressed.
- purchase.completed: no message; the last purchase time, for the win-back job (jobs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlencode

from loyalty_notifications.clock import Clock
from loyalty_notifications.members import repository as members
from loyalty_notifications.members.recipient import Recipient
from loyalty_notifications.triggers import payloads, repository
from loyalty_notifications.triggers.planner import NewNotification, Planner
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.loyalty import (
    CouponExpiringV1,
    CouponUsedV1,
    CouponVoidedV1,
    FeedbackReceivedV1,
    FeedbackRequestedV1,
    PointsEarnedV1,
    PointsExpiringV1,
    RewardRedeemedV1,
    TierChangedV1,
    TierDowngradeWarningV1,
)
from loyalty_shared.kafka.routing import BatchHandler, Refusal

Rule = Callable[[Decoded, Recipient, datetime], list[NewNotification]]


def _per_event(planner: Planner, clock: Clock, rule: Rule) -> BatchHandler:
    async def handle(conn: Connection, events: Sequence[Decoded]) -> Sequence[Refusal]:
        now = clock()
        who = await members.recipients(
            conn,
            [e.envelope.subject or "" for e in events],
            default_time_zone=planner.settings.notifications_default_time_zone,
        )
        rows = [row for e in events for row in rule(e, who[e.envelope.subject or ""], now)]
        await repository.record(conn, rows, now)
        return ()

    return handle


def tier_changed_handler(planner: Planner, clock: Clock) -> BatchHandler:
    def rule(event: Decoded, recipient: Recipient, now: datetime) -> list[NewNotification]:
        data = event.data
        assert isinstance(data, TierChangedV1)
        if data.direction == "same":
            return []
        return planner.plan(
            trigger=payloads.TIER_UPGRADED if data.direction == "up" else payloads.TIER_DOWNGRADED,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.tier_changed(
                from_tier=data.from_tier,
                to_tier=data.to_tier,
                valid_until=data.valid_until,
                new_benefits=[benefit.name for benefit in data.new_benefits],
            ),
            due_at=now,
        )

    return _per_event(planner, clock, rule)


def points_expiring_handler(planner: Planner, clock: Clock) -> BatchHandler:
    notice = timedelta(days=planner.settings.notifications_expiry_notice_days)

    def rule(event: Decoded, recipient: Recipient, now: datetime) -> list[NewNotification]:
        data = event.data
        assert isinstance(data, PointsExpiringV1)
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


def downgrade_warning_handler(planner: Planner, clock: Clock) -> BatchHandler:
    def rule(event: Decoded, recipient: Recipient, now: datetime) -> list[NewNotification]:
        data = event.data
        assert isinstance(data, TierDowngradeWarningV1)
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


def feedback_requested_handler(planner: Planner, clock: Clock) -> BatchHandler:
    base = planner.settings.notifications_survey_base_url

    def rule(event: Decoded, recipient: Recipient, now: datetime) -> list[NewNotification]:
        data = event.data
        assert isinstance(data, FeedbackRequestedV1)
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


def feedback_received_handler(planner: Planner, clock: Clock) -> BatchHandler:
    def rule(event: Decoded, recipient: Recipient, now: datetime) -> list[NewNotification]:
        data = event.data
        assert isinstance(data, FeedbackReceivedV1)
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


def points_earned_handler(planner: Planner, clock: Clock) -> BatchHandler:
    """At most one message a day: each member's points of a local day add up in one digest."""

    async def handle(conn: Connection, events: Sequence[Decoded]) -> Sequence[Refusal]:
        now = clock()
        who = await members.recipients(
            conn,
            [e.envelope.subject or "" for e in events],
            default_time_zone=planner.settings.notifications_default_time_zone,
        )
        days: dict[str, tuple[int, int, str]] = {}  # member -> points, purchases, first cause
        for event in events:
            data = event.data
            assert isinstance(data, PointsEarnedV1)
            if data.status == "expired":
                continue  # never spendable: nothing to tell the member
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


def reward_redeemed_handler(planner: Planner, clock: Clock) -> BatchHandler:
    def rule(event: Decoded, recipient: Recipient, now: datetime) -> list[NewNotification]:
        data = event.data
        assert isinstance(data, RewardRedeemedV1)
        return planner.plan(
            trigger=payloads.REWARD_REDEEMED,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.coupon(
                reward_name=data.reward_name,
                code=data.coupon_code,
                value=data.coupon_value,
                currency=data.coupon_currency,
                expires_at=data.coupon_expires_at,
            ),
            due_at=now,
            expires_at=data.coupon_expires_at,
        )

    return _per_event(planner, clock, rule)


def coupon_expiring_handler(planner: Planner, clock: Clock) -> BatchHandler:
    def rule(event: Decoded, recipient: Recipient, now: datetime) -> list[NewNotification]:
        data = event.data
        assert isinstance(data, CouponExpiringV1)
        today = now.astimezone(recipient.zone).date()
        return planner.plan(
            trigger=payloads.COUPON_EXPIRING,
            recipient=recipient,
            cause=event.envelope.id,
            causation_id=event.envelope.id,
            payload=payloads.coupon(
                reward_name=data.reward_name,
                code=data.coupon_code,
                value=data.coupon_value,
                currency=data.coupon_currency,
                expires_at=data.expires_at,
            ),
            due_at=max(now, planner.local_send_time(recipient, today)),
            expires_at=data.expires_at,
        )

    return _per_event(planner, clock, rule)


def coupon_settled_handler(clock: Clock) -> BatchHandler:
    """A coupon used or voided: its messages not sent yet are suppressed, saying why."""

    async def handle(conn: Connection, events: Sequence[Decoded]) -> Sequence[Refusal]:
        members, codes, reasons = [], [], []
        for event in events:
            data = event.data
            assert isinstance(data, CouponUsedV1 | CouponVoidedV1)
            members.append(data.member_id)
            codes.append(data.coupon_code)
            reasons.append(
                f"coupon-used: by order {data.order_id}"
                if isinstance(data, CouponUsedV1)
                else "coupon-voided: the redemption was cancelled"
            )
        await repository.suppress_coupon_messages(
            conn,
            member_ids=members,
            codes=codes,
            reasons=reasons,
            triggers=payloads.COUPON_TRIGGERS,
            now=clock(),
        )
        return ()

    return handle


async def on_purchases(conn: Connection, events: Sequence[Decoded]) -> Sequence[Refusal]:
    purchases = [e for e in events if isinstance(e.data, PurchaseCompletedV1)]
    await repository.record_purchases(
        conn, [e.envelope.subject or "" for e in purchases], [e.envelope.time for e in purchases]
    )
    return ()
