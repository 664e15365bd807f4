"""The scheduled jobs of the points' life: what time has decided for members nobody touched is
written down (ledger/settlement.py), members hear 30 days ahead of expiry (`points.expiring`),
and refunds that waited too long for their purchase go to the dead-letter topic. Each batch is
its own transaction, safe beside replicas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import asyncpg

from loyalty_points.events import emit
from loyalty_points.ledger.settlement import settle_due
from loyalty_points.lifecycle import repository
from loyalty_points.refunds import handlers as refunds
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import PointsExpiringV1
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import RefundPolicy

log = get_logger(__name__)

BATCH = 1000
EXPIRY_NOTICE = timedelta(days=30)
PARKED_REFUND_MAX_AGE = timedelta(days=7)


async def settle(conn: Connection, now: datetime) -> int:
    """Holds that ran out give their points back, pending points whose window ended mature,
    points whose time came expire (for members no request has settled already)."""
    return await settle_due(conn, now, limit=BATCH)


async def warn(conn: Connection, now: datetime) -> int:
    rows = await repository.warn_expiring(conn, now=now, horizon=now + EXPIRY_NOTICE, limit=BATCH)
    await emit(
        conn,
        *(
            PointsExpiringV1(
                member_id=r["member_id"],
                points=r["points"],
                expires_at=r["at"],
                causation_id=f"lot:{r['id']}:expiring",
            )
            for r in rows
        ),
    )
    return len(rows)


Job = Callable[[Connection, datetime], Awaitable[int]]
JOBS: tuple[Job, ...] = (settle, warn)


def _refunds_parked_in_a_race(policy: RefundPolicy) -> Job:
    async def apply_refunds_parked_in_a_race(conn: Connection, now: datetime) -> int:
        return await refunds.apply_refunds_parked_in_a_race(conn, policy, now, limit=BATCH)

    return apply_refunds_parked_in_a_race


def _stale_refunds(max_age: timedelta) -> Job:
    async def dead_letter_stale_refunds(conn: Connection, now: datetime) -> int:
        return await refunds.dead_letter_stale_parked(conn, before=now - max_age, limit=BATCH)

    return dead_letter_stale_refunds


async def run_due(
    pool: asyncpg.Pool,
    now: datetime,
    *,
    parked_refund_max_age: timedelta = PARKED_REFUND_MAX_AGE,
    refund_policy: RefundPolicy = "proportional",
) -> dict[str, int]:
    """Run every job until nothing is due by `now`; returns how many members, lots or refunds
    each handled. Parked refunds whose purchase is credited are applied before the others are
    judged stale."""
    done: dict[str, int] = {}
    parked = (_refunds_parked_in_a_race(refund_policy), _stale_refunds(parked_refund_max_age))
    for job in (*JOBS, *parked):
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
        self,
        *,
        pool: asyncpg.Pool,
        clock: Clock,
        interval_s: float,
        parked_refund_max_age: timedelta,
        refund_policy: RefundPolicy,
    ) -> None:
        super().__init__(name="points-lifecycle-jobs", interval_s=interval_s)
        self._pool = pool
        self._clock = clock
        self._parked_refund_max_age = parked_refund_max_age
        self._refund_policy = refund_policy

    async def run_once(self) -> None:
        done = await run_due(
            self._pool,
            self._clock(),
            parked_refund_max_age=self._parked_refund_max_age,
            refund_policy=self._refund_policy,
        )
        if any(done.values()):
            log.info("points lifecycle jobs ran", **done)
