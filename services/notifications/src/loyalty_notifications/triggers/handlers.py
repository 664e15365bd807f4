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
from loyalty_notifications.triggers.planner import Message, Planner
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.loyalty import (
    ActionRewardedV1,
    BirthdayRewardedV1,
    CouponExpiringV1,
    CouponUsedV1,
    CouponVoidedV1,
    FeedbackReceivedV1,
    FeedbackRequestedV1,
    PlatformEvent,
    PointsEarnedV1,
    PointsExpiringV1,
    ReferralRewardedV1,
    RewardRedeemedV1,
    TierChangedV1,
    TierDowngradeWarningV1,
)
from loyalty_shared.kafka.routing import BatchHandler, Refusal

#: An event of the platform's, about one member.
Event = TypeVar("Event", bound=PlatformEvent)


#: The message one event calls for, if any, for its member, now.
Rule: TypeAlias = Callable[[Event, Recipient, datetime], Message | None]


#: What makes a message unique beyond its trigger and channel, when not the event's id.
Cause: TypeAlias = Callable[[Event, Recipient], str]


#: Whether an event may call for a message at all, judged on the event alone: those that may
#: not are dropped before their members are looked up.
Relevant: TypeAlias = Callable[[Event], bool]


def _per_event(
    planner: Planner,
    clock: Clock,
    rule: Rule[Event],
    cause: Cause[Event] | None = None,
    relevant: Relevant[Event] | None = None,
) -> BatchHandler[Event]:
    async def handle(conn: Connection, events: Sequence[Decoded[Event]]) -> Sequence[Refusal]:
        if relevant is not None:
            events = [e for e in events if relevant(e.data)]
            if not events:
                return ()
        now = clock()
        who = await members.recipients(
            conn,
            [e.data.member_id for e in events],
            default_time_zone=planner.settings.notifications_default_time_zone,
        )
        rows = []
        for event in events:
            recipient = who[event.data.member_id]
            message = rule(event.data, recipient, now)
            if message is not None:
                rows += planner.plan(
                    message,
                    recipient=recipient,
                    cause=event.envelope.id if cause is None else cause(event.data, recipient),
                    causation_id=event.envelope.id,
                )
        await repository.record(conn, rows, now)
        return ()

    return handle


def tier_changed_handler(planner: Planner, clock: Clock) -> BatchHandler[TierChangedV1]:
    def relevant(data: TierChangedV1) -> bool:
        # an imported tier is the one the member had: nothing to congratulate
        return data.direction != "same" and data.reason != "import"

    def rule(data: TierChangedV1, recipient: Recipient, now: datetime) -> Message | None:
        if not relevant(data):
            return None
        return Message(
            payloads.TIER_UPGRADED if data.direction == "up" else payloads.TIER_DOWNGRADED,
            payloads.tier_changed(
                from_tier=data.from_tier,
                to_tier=data.to_tier,
                valid_until=data.valid_until,
                new_benefits=[benefit.name for benefit in data.new_benefits],
            ),
            due_at=now,
        )

    return _per_event(planner, clock, rule, relevant=relevant)


def points_expiring_handler(planner: Planner, clock: Clock) -> BatchHandler[PointsExpiringV1]:
    notice = timedelta(days=planner.settings.notifications_expiry_notice_days)

    def rule(data: PointsExpiringV1, recipient: Recipient, now: datetime) -> Message | None:
        day = (data.expires_at.astimezone(recipient.zone) - notice).date()
        return Message(
            payloads.POINTS_EXPIRING,
            payloads.points_expiring(points=data.points, expires_at=data.expires_at),
            due_at=max(now, planner.local_send_time(recipient, day)),
            expires_at=data.expires_at,
        )

    return _per_event(planner, clock, rule)


def downgrade_warning_handler(
    planner: Planner, clock: Clock
) -> BatchHandler[TierDowngradeWarningV1]:
    def rule(data: TierDowngradeWarningV1, recipient: Recipient, now: datetime) -> Message | None:
        return Message(
            payloads.TIER_DOWNGRADE_WARNING,
            payloads.tier_downgrade_warning(
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
    joiner = "&" if "?" in base else "?"

    def rule(data: FeedbackRequestedV1, recipient: Recipient, now: datetime) -> Message | None:
        survey_url = f"{base}{joiner}{urlencode({'token': data.survey_token})}"
        return Message(
            payloads.FEEDBACK_INVITATION,
            payloads.feedback_invitation(
                order_id=data.order_id, survey_url=survey_url, expires_at=data.expires_at
            ),
            due_at=now,
            expires_at=data.expires_at,
        )

    return _per_event(planner, clock, rule)


def feedback_received_handler(planner: Planner, clock: Clock) -> BatchHandler[FeedbackReceivedV1]:
    """At most one detractor alert per member and day (the member's, of the answer): a member
    answering 0 again and again alerts customer service once."""

    def rule(data: FeedbackReceivedV1, recipient: Recipient, now: datetime) -> Message | None:
        if not data.detractor:
            return None
        return Message(payloads.DETRACTOR_ALERT, payloads.detractor_alert(data), due_at=now)

    def one_a_day(data: FeedbackReceivedV1, recipient: Recipient) -> str:
        day = data.answered_at.astimezone(recipient.zone).date()
        return f"detractor:{data.member_id}:{day.isoformat()}"

    return _per_event(planner, clock, rule, one_a_day, relevant=lambda data: data.detractor)


def points_earned_handler(planner: Planner, clock: Clock) -> BatchHandler[PointsEarnedV1]:
    """At most one message a day: each member's points of a local day add up in one digest."""
    digest_hour = planner.settings.notifications_digest_hour

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
            if data.status == "expired":
                continue  # never spendable: nothing to tell the member
            points, purchases, first = days.get(data.member_id, (0, 0, event.envelope.id))
            days[data.member_id] = (points + data.points, purchases + 1, first)
        rows = []
        for member_id, (points, purchases, first) in sorted(days.items()):
            recipient = who[member_id]
            day = planner.digest_day(recipient, now)
            digest = Message(
                payloads.POINTS_DIGEST,
                payloads.points_digest(day=day, points=points, purchases=purchases),
                due_at=max(now, planner.local_send_time(recipient, day, digest_hour)),
            )
            cause = f"digest:{member_id}:{day.isoformat()}"
            rows += planner.plan(digest, recipient=recipient, cause=cause, causation_id=first)
        await repository.add_to_digests(conn, rows, now)
        return ()

    return handle


def reward_redeemed_handler(planner: Planner, clock: Clock) -> BatchHandler[RewardRedeemedV1]:
    def rule(data: RewardRedeemedV1, recipient: Recipient, now: datetime) -> Message | None:
        return Message(
            payloads.REWARD_REDEEMED,
            payloads.coupon(
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


def referral_rewarded_handler(planner: Planner, clock: Clock) -> BatchHandler[ReferralRewardedV1]:
    def rule(data: ReferralRewardedV1, recipient: Recipient, now: datetime) -> Message | None:
        return Message(
            payloads.REFERRAL_REWARDED,
            payloads.referral_rewarded(
                role=data.role, points=data.points, expires_at=data.expires_at
            ),
            due_at=now,
        )

    return _per_event(planner, clock, rule)


def action_rewarded_handler(planner: Planner, clock: Clock) -> BatchHandler[ActionRewardedV1]:
    def rule(data: ActionRewardedV1, recipient: Recipient, now: datetime) -> Message | None:
        return Message(
            payloads.ACTION_REWARDED,
            payloads.action_rewarded(
                action=data.action, points=data.points, expires_at=data.expires_at
            ),
            due_at=now,
        )

    return _per_event(planner, clock, rule)


def coupon_expiring_handler(planner: Planner, clock: Clock) -> BatchHandler[CouponExpiringV1]:
    def rule(data: CouponExpiringV1, recipient: Recipient, now: datetime) -> Message | None:
        today = now.astimezone(recipient.zone).date()
        return Message(
            payloads.COUPON_EXPIRING,
            payloads.coupon(
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


def coupon_settled_handler(clock: Clock) -> BatchHandler[CouponUsedV1 | CouponVoidedV1]:
    """A coupon used or voided: its messages not sent yet are suppressed, saying why."""

    async def handle(
        conn: Connection, events: Sequence[Decoded[CouponUsedV1 | CouponVoidedV1]]
    ) -> Sequence[Refusal]:
        await repository.suppress_coupon_messages(
            conn,
            member_ids=[e.data.member_id for e in events],
            codes=[e.data.coupon_code for e in events],
            reasons=[
                f"coupon-used: by order {e.data.order_id}"
                if isinstance(e.data, CouponUsedV1)
                else "coupon-voided: the redemption was cancelled"
                for e in events
            ],
            triggers=payloads.COUPON_TRIGGERS,
            now=clock(),
        )
        return ()

    return handle


async def on_birthday_rewards(
    conn: Connection, events: Sequence[Decoded[BirthdayRewardedV1]]
) -> Sequence[Refusal]:
    """No message of its own: the birthday greeting of that year mentions the points."""
    await repository.record_birthday_gifts(
        conn,
        member_ids=[e.data.member_id for e in events],
        years=[e.data.year for e in events],
        points=[e.data.points for e in events],
    )
    return ()


async def on_purchases(
    conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
) -> Sequence[Refusal]:
    await repository.record_purchases(
        conn, [e.data.member_id for e in events], [e.envelope.time for e in events]
    )
    return ()
