"""Flagging members who go over the program's `[abuse]` thresholds: refunds in the last 30 days,
the refunded share of what they bought in those days, points earned and actions taken on one day
(in the program's time zone). Over a threshold, a member is flagged once per threshold and window
(the day of a daily threshold, 30 days for the others), with a `member.flagged`; from then on what
they earn is held for review (`ledger.grant`, `credit_purchases`). The handlers call these with
the members' accounts locked, so concurrent batches count a member once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

import msgspec

from loyalty_points.abuse import repository
from loyalty_points.events import emit_caused
from loyalty_points.ledger.repository import lock_accounts
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import FlagReason, MemberFlaggedV1
from loyalty_shared.program.schema import Program

#: What the `refunds` and `refund_ratio` thresholds look back over.
WINDOW = timedelta(days=30)
_RATIO_PLACES = Decimal("0.0001")


def local_day(program: Program, at: datetime) -> date:
    return at.astimezone(ZoneInfo(program.time_zone)).date()


def day_bounds(program: Program, day: date) -> tuple[datetime, datetime]:
    """The instants a local day of the program starts and ends (not always 24 hours apart)."""
    zone = ZoneInfo(program.time_zone)
    return (
        datetime.combine(day, time(), zone),
        datetime.combine(day + timedelta(days=1), time(), zone),
    )


async def flag(
    conn: Connection,
    *,
    member_id: str,
    reason: FlagReason,
    threshold: Decimal,
    observed: Decimal,
    day: date | None,
    cause_event_id: str,
    now: datetime,
) -> bool:
    """Flag the member for `reason`, unless they were already on that day (a daily threshold)
    or in the last 30 days; returns whether they were flagged now."""
    if await repository.flagged_before(conn, member_id, reason, day=day, since=now - WINDOW):
        return False
    row = await repository.insert_flag(
        conn,
        member_id=member_id,
        reason=reason,
        threshold=threshold,
        observed=observed,
        local_day=day,
        flagged_at=now,
        cause_event_id=cause_event_id,
    )
    event = MemberFlaggedV1(
        member_id=member_id,
        flag_id=row.id,
        reason=reason,
        threshold=threshold,
        observed=observed,
        local_day=day,
        flagged_at=now,
        causation_id=cause_event_id,
    )
    # one event may take a member over two thresholds: each flag has an id of its own
    await emit_caused(conn, [(event, f"{cause_event_id}:{reason}")])
    return True


class Earning(msgspec.Struct, frozen=True):
    """A purchase about to be credited, as the `points_per_day` threshold counts it."""

    event_id: str
    member_id: str
    order_id: str
    points: int
    earned_at: datetime


async def watch_purchases(
    conn: Connection, program: Program, earnings: Sequence[Earning], now: datetime
) -> set[str]:
    """Before a batch of purchases is credited: flag the members whose purchases take them over
    `points_per_day`; returns the events whose points are to be held (their member was flagged
    before them)."""
    members = sorted({e.member_id for e in earnings})
    if not members:
        return set()
    abuse = program.abuse
    if abuse.enabled:  # a concurrent batch of this member's actions or refunds waits
        await lock_accounts(conn, members)
    flagged = await repository.flagged_members(conn, members)
    limit = abuse.points_per_day
    if limit is None:
        return {e.event_id for e in earnings if e.member_id in flagged}
    held = set()
    credited = await repository.credited_orders(conn, [e.order_id for e in earnings])
    fresh: list[Earning] = []
    for e in earnings:  # what will be credited: the first event of each order not credited yet
        if e.order_id not in credited:
            credited.add(e.order_id)
            fresh.append(e)
        elif e.member_id in flagged:
            held.add(e.event_id)
    days = sorted({(e.member_id, local_day(program, e.earned_at)) for e in fresh if e.points})
    earned = await repository.points_earned(
        conn, [(member, *day_bounds(program, day)) for member, day in days]
    )
    totals = dict(zip(days, earned, strict=True))
    for e in fresh:
        day = local_day(program, e.earned_at)
        if e.points:
            totals[(e.member_id, day)] += e.points
            observed = totals[(e.member_id, day)]
            if observed > limit and await flag(
                conn,
                member_id=e.member_id,
                reason="points_per_day",
                threshold=Decimal(limit),
                observed=Decimal(observed),
                day=day,
                cause_event_id=e.event_id,
                now=now,
            ):
                flagged.add(e.member_id)
        if e.member_id in flagged:
            held.add(e.event_id)
    return held


async def watch_action(
    conn: Connection,
    program: Program,
    *,
    member_id: str,
    day: date,
    points: int,
    cause_event_id: str,
    now: datetime,
) -> None:
    """Before an action is recorded and its `points` granted (on `day`): flag its member if it
    takes them over `actions_per_day` or `points_per_day`."""
    abuse = program.abuse
    if abuse.actions_per_day is not None:
        observed = await repository.actions_on(conn, member_id, day) + 1
        if observed > abuse.actions_per_day:
            await flag(
                conn,
                member_id=member_id,
                reason="actions_per_day",
                threshold=Decimal(abuse.actions_per_day),
                observed=Decimal(observed),
                day=day,
                cause_event_id=cause_event_id,
                now=now,
            )
    if abuse.points_per_day is not None and points:
        [earned] = await repository.points_earned(conn, [(member_id, *day_bounds(program, day))])
        if earned + points > abuse.points_per_day:
            await flag(
                conn,
                member_id=member_id,
                reason="points_per_day",
                threshold=Decimal(abuse.points_per_day),
                observed=Decimal(earned + points),
                day=day,
                cause_event_id=cause_event_id,
                now=now,
            )


async def watch_refund(
    conn: Connection, program: Program, *, member_id: str, cause_event_id: str, now: datetime
) -> None:
    """Once a refund is recorded: flag its member if it takes them over `refunds_per_30_days`
    or `refund_ratio` (with at least `refund_ratio_min_purchases` purchases in those days)."""
    abuse = program.abuse
    since = now - WINDOW
    if abuse.refunds_per_30_days is not None:
        refunds = await repository.refunds_since(conn, member_id, since)
        if refunds > abuse.refunds_per_30_days:
            await flag(
                conn,
                member_id=member_id,
                reason="refunds",
                threshold=Decimal(abuse.refunds_per_30_days),
                observed=Decimal(refunds),
                day=None,
                cause_event_id=cause_event_id,
                now=now,
            )
    if abuse.refund_ratio is not None:
        seen = await repository.refunded_since(conn, member_id, since)
        if seen.purchases < abuse.refund_ratio_min_purchases or seen.purchased <= 0:
            return
        ratio = seen.refunded / seen.purchased
        if ratio > abuse.refund_ratio:
            await flag(
                conn,
                member_id=member_id,
                reason="refund_ratio",
                threshold=abuse.refund_ratio,
                observed=ratio.quantize(_RATIO_PLACES, rounding=ROUND_CEILING),
                day=None,
                cause_event_id=cause_event_id,
                now=now,
            )
