"""The scheduled triggers, birthday and win-back (docs/events.md#messages-to-members), every
`LOYALTY_NOTIFICATIONS_SCHEDULE_INTERVAL_S`: one transaction per batch, safe with replicas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import asyncpg

from loyalty_notifications.members import repository as members
from loyalty_notifications.triggers import payloads, repository
from loyalty_notifications.triggers.planner import Message, Planner
from loyalty_notifications.triggers.repository import Absence, Birthday
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)

BATCH = 1000


class _OfAMember(Protocol):
    @property
    def member_id(self) -> str: ...


Found = TypeVar("Found", bound=_OfAMember)


async def run_schedules(pool: asyncpg.Pool, planner: Planner, clock: Clock) -> dict[str, int]:
    """Record every scheduled message due now; returns how many of each."""
    settings = planner.settings

    async def birthdays(conn: Connection, now: datetime) -> list[Birthday]:
        return await repository.birthdays_due(
            conn,
            now=now,
            default_time_zone=settings.notifications_default_time_zone,
            send_hour=settings.notifications_local_send_hour,
            limit=BATCH,
        )

    def greeting(birthday: Birthday, now: datetime) -> tuple[str, Message]:
        message = Message(
            payloads.BIRTHDAY,
            payloads.birthday(year=birthday.year, points=birthday.points),
            due_at=now,
            expires_at=now + timedelta(days=1),
        )
        return f"birthday:{birthday.member_id}:{birthday.year}", message

    async def absences(conn: Connection, now: datetime) -> list[Absence]:
        before = now - timedelta(days=settings.notifications_win_back_days)
        return await repository.win_backs_due(conn, before=before, limit=BATCH)

    def win_back(absence: Absence, now: datetime) -> tuple[str, Message]:
        message = Message(
            payloads.WIN_BACK,
            payloads.win_back(
                days=(now - absence.last_purchase_at).days,
                last_purchase_at=absence.last_purchase_at,
            ),
            due_at=now,
            expires_at=now + timedelta(days=7),
        )
        return f"win_back:{absence.member_id}:{absence.last_purchase_at.isoformat()}", message

    return {
        "birthday": await _record_due(pool, planner, clock, birthdays, greeting),
        "win_back": await _record_due(pool, planner, clock, absences, win_back),
    }


async def _record_due(
    pool: asyncpg.Pool,
    planner: Planner,
    clock: Clock,
    due: Callable[[Connection, datetime], Awaitable[Sequence[Found]]],
    message: Callable[[Found, datetime], tuple[str, Message]],
) -> int:
    """The message for every member `due` finds (and its cause, which is also its causation id,
    cut to the contract's 128 characters), recorded a batch per transaction; returns how many
    members."""
    done = 0
    while True:
        now = clock()
        async with pool.acquire() as conn, conn.transaction():
            found = await due(conn, now)
            who = await members.recipients(
                conn,
                [f.member_id for f in found],
                default_time_zone=planner.settings.notifications_default_time_zone,
            )
            planned = []
            for f in found:
                cause, wanted = message(f, now)
                planned += planner.plan(
                    wanted, recipient=who[f.member_id], cause=cause, causation_id=cause[:128]
                )
            await repository.record(conn, planned, now)
        done += len(found)
        if len(found) < BATCH:
            return done


class ScheduledTriggersJob(PeriodicJob):
    failure = "scheduled triggers failed"

    def __init__(
        self, *, pool: asyncpg.Pool, planner: Planner, clock: Clock, interval_s: float
    ) -> None:
        super().__init__(name="notifications-schedules", interval_s=interval_s)
        self._pool = pool
        self._planner = planner
        self._clock = clock

    async def run_once(self) -> None:
        done = await run_schedules(self._pool, self._planner, self._clock)
        if any(done.values()):
            log.info("scheduled messages recorded", **done)
