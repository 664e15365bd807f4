"""The scheduled triggers, birthday and win-back (docs/events.md#messages-to-members), every
`LOYALTY_NOTIFICATIONS_SCHEDULE_INTERVAL_S`: one transaction per batch, safe with replicas."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from loyalty_notifications.members import repository as members
from loyalty_notifications.triggers import payloads, repository
from loyalty_notifications.triggers.planner import Planner
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)

BATCH = 1000


async def run_schedules(pool: asyncpg.Pool, planner: Planner, clock: Clock) -> dict[str, int]:
    """Record every scheduled message due now; returns how many of each."""
    settings = planner.settings
    zone = settings.notifications_default_time_zone
    done = {"birthday": 0, "win_back": 0}
    while True:
        now = clock()
        async with pool.acquire() as conn, conn.transaction():
            birthdays = await repository.birthdays_due(
                conn,
                now=now,
                default_time_zone=zone,
                send_hour=settings.notifications_local_send_hour,
                limit=BATCH,
            )
            who = await members.recipients(
                conn, [b.member_id for b in birthdays], default_time_zone=zone
            )
            planned = [
                n
                for b in birthdays
                for n in planner.plan(
                    trigger=payloads.BIRTHDAY,
                    recipient=who[b.member_id],
                    cause=f"birthday:{b.member_id}:{b.year}",
                    causation_id=f"birthday:{b.member_id}:{b.year}",
                    payload=payloads.birthday(year=b.year),
                    due_at=now,
                    expires_at=now + timedelta(days=1),
                )
            ]
            await repository.record(conn, planned, now)
        done["birthday"] += len(birthdays)
        if len(birthdays) < BATCH:
            break
    days = settings.notifications_win_back_days
    while True:
        now = clock()
        async with pool.acquire() as conn, conn.transaction():
            absences = await repository.win_backs_due(
                conn, before=now - timedelta(days=days), limit=BATCH
            )
            who = await members.recipients(
                conn, [a.member_id for a in absences], default_time_zone=zone
            )
            planned = []
            for a in absences:
                cause = f"win_back:{a.member_id}:{a.last_purchase_at.isoformat()}"
                planned += planner.plan(
                    trigger=payloads.WIN_BACK,
                    recipient=who[a.member_id],
                    cause=cause,
                    causation_id=cause[:128],
                    payload=payloads.win_back(
                        days=(now - a.last_purchase_at).days,
                        last_purchase_at=a.last_purchase_at,
                    ),
                    due_at=now,
                    expires_at=now + timedelta(days=7),
                )
            await repository.record(conn, planned, now)
        done["win_back"] += len(absences)
        if len(absences) < BATCH:
            break
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
