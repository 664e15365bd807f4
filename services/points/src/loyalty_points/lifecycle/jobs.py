"""The scheduled jobs of the points' life: what time has decided for members nobody touched is
written down (ledger/settlement.py), members hear 30 days ahead of expiry (`points.expiring`),
referrals whose first purchase is available are paid, and birthdays bring their points. Each
batch is its own transaction, safe beside replicas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import asyncpg

from loyalty_points.birthdays.service import pay_due as pay_birthdays_due
from loyalty_points.events import emit_caused
from loyalty_points.ledger.settlement import settle_due
from loyalty_points.lifecycle import repository
from loyalty_points.referrals.service import pay_due
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import PointsExpiringV1
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import Program

log = get_logger(__name__)

BATCH = 1000
EXPIRY_NOTICE = timedelta(days=30)


async def settle(conn: Connection, now: datetime) -> int:
    """Holds that ran out give their points back, pending points whose window ended mature,
    points whose time came expire (for members no request has settled already)."""
    return await settle_due(conn, now, limit=BATCH)


async def warn(conn: Connection, now: datetime) -> int:
    lots = await repository.warn_expiring(conn, now=now, horizon=now + EXPIRY_NOTICE, limit=BATCH)
    # the id derives from the expiry too: a lot whose expiry activity pushed (rolling) is warned
    # again, of its new one
    await emit_caused(
        conn,
        [
            (
                PointsExpiringV1(
                    member_id=lot.member_id,
                    points=lot.points,
                    expires_at=lot.expires_at,
                    causation_id=f"lot:{lot.id}:expiring",
                ),
                f"lot:{lot.id}:expiring:{lot.expires_at.isoformat()}",
            )
            for lot in lots
        ],
    )
    return len(lots)


Job = Callable[[Connection, datetime], Awaitable[int]]


async def run_due(pool: asyncpg.Pool, program: Program, now: datetime) -> dict[str, int]:
    """Run every job until nothing is due by `now`; returns how many members, lots or
    referrals each handled."""

    async def pay_referrals(conn: Connection, now: datetime) -> int:
        return await pay_due(conn, program, now, BATCH)

    async def pay_birthdays(conn: Connection, now: datetime) -> int:
        return await pay_birthdays_due(conn, program, now, BATCH)

    jobs: tuple[Job, ...] = (settle, warn, pay_referrals, pay_birthdays)
    done: dict[str, int] = {}
    for job in jobs:
        done[job.__name__] = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                handled = await job(conn, now)
            done[job.__name__] += handled
            if handled < BATCH:
                break
    return done


class LifecycleJob(PeriodicJob):
    failure = "points lifecycle jobs failed"

    def __init__(
        self, *, pool: asyncpg.Pool, program: Program, clock: Clock, interval_s: float
    ) -> None:
        super().__init__(name="points-lifecycle-jobs", interval_s=interval_s)
        self._pool = pool
        self._program = program
        self._clock = clock

    async def run_once(self) -> None:
        done = await run_due(self._pool, self._program, self._clock())
        if any(done.values()):
            log.info("points lifecycle jobs ran", **done)
