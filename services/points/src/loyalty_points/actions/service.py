"""Taking one `member.action`: the program's points for it, available at once and expiring like
purchase points, once per `action_id` and within the action's cap (so many a day, days in the
program's time zone, or the member's first only). The handler locks the members' accounts and
settles them first, so concurrent batches count every cap once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty_points.abuse.flagging import watch_action
from loyalty_points.actions import repository
from loyalty_points.actions.repository import TakenAction
from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import settle
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import MemberActionV1
from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.events.loyalty import ActionRewardedV1
from loyalty_shared.program.schema import ActionRule, Program

#: How far ahead of the platform's clock an action may say it happened (clocks differ).
FUTURE_SLACK = timedelta(days=1)


def refusal(event: Decoded[MemberActionV1], now: datetime) -> InvalidEvent | None:
    """Why the action is refused before anything is written, or None."""
    action = event.data
    occurred_at = action.occurred_at or event.envelope.time
    if occurred_at > now + FUTURE_SLACK:
        return InvalidEvent(
            "invalid-data",
            f"action {action.action_id} occurred_at {occurred_at.isoformat()} is more than a "
            "day ahead",
        )
    return None


async def take(
    conn: Connection, program: Program, event: Decoded[MemberActionV1], now: datetime
) -> None:
    """Credit what an action that is not refused earns (its member's account locked). An action
    the program does not name, or one taken before under the same `action_id`, earns nothing."""
    action = event.data
    occurred_at = action.occurred_at or event.envelope.time
    rule = program.actions.get(action.action)
    if rule is None or await repository.is_taken(conn, action.action_id):
        return
    earned_at = min(occurred_at, now)
    day = earned_at.astimezone(ZoneInfo(program.time_zone)).date()
    points = rule.points if await _under_cap(conn, rule, action, day) else 0
    await watch_action(
        conn,
        program,
        member_id=action.member_id,
        day=day,
        points=points,
        cause_event_id=event.envelope.id,
        now=now,
    )
    entry_id = None
    if points:
        expiry = LotExpiry.of(program)
        told = rule.notify and not await ledger.under_review(conn, action.member_id)
        entry_id = await ledger.grant(
            conn,
            member_id=action.member_id,
            points=points,
            earned_at=earned_at,
            expiry=expiry,
            origin="action",
            actor="system:action",
            details={"action": action.action, "action_id": action.action_id},
            cause_event_id=event.envelope.id,
        )
        expires_at = expiry.expires_at(earned_at)
        if expires_at <= now:  # reported after its expiry: expired at once
            await settle(conn, [action.member_id], now)
        elif told:
            await emit(
                conn,
                ActionRewardedV1(
                    member_id=action.member_id,
                    action=action.action,
                    action_id=action.action_id,
                    points=points,
                    expires_at=expires_at,
                    causation_id=event.envelope.id,
                ),
            )
    await repository.record(
        conn,
        TakenAction(
            action_id=action.action_id,
            member_id=action.member_id,
            action=action.action,
            occurred_at=occurred_at,
            local_day=day,
            points=points,
            entry_id=entry_id,
            recorded_at=now,
        ),
    )


async def _under_cap(conn: Connection, rule: ActionRule, action: MemberActionV1, day: date) -> bool:
    if rule.once:
        return await repository.rewarded(conn, action.member_id, action.action, None) == 0
    if rule.per_day is None:
        return True
    return await repository.rewarded(conn, action.member_id, action.action, day) < rule.per_day
