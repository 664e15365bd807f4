"""The scheduled jobs of the points' life: pending points mature when their return window ends,
checkout holds that ran out give their points back, unspent points expire when their time
comes, members hear 30 days ahead (`points.expiring`), and refunds that waited too long for their
purchase go to the dead-letter topic.

Each job is idempotent and safe with several replicas (see repository.py); each batch is its own
transaction with its events in the outbox, so a crash loses nothing and repeats nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from loyalty_points.events import emit
from loyalty_points.holds.service import release_expired
from loyalty_points.lifecycle import repository
from loyalty_points.refunds import handlers as refunds
from loyalty_shared.background import PeriodicJob
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import PointsExpiredV1, PointsExpiringV1, PointsMaturedV1
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import RefundPolicy

log = get_logger(__name__)

BATCH = 1000
EXPIRY_NOTICE = timedelta(days=30)
PARKED_REFUND_MAX_AGE = timedelta(days=7)


async def mature(conn: Connection, now: datetime) -> int:
    rows = await repository.mature_due(conn, now=now, limit=BATCH)
    await emit(
        conn,
        *(
            PointsMaturedV1(
                member_id=r["member_id"],
                order_id=r["order_id"],
                points=r["points"],
                matured_at=r["at"],
                causation_id=f"lot:{r['id']}:matured",
            )
            for r in rows
        ),
    )
    return len(rows)


async def expire(conn: Connection, now: datetime) -> int:
    rows = await repository.expire_due(conn, now=now, limit=BATCH)
    await emit(
        conn,
        *(
            PointsExpiredV1(
                member_id=r["member_id"],
                order_id=r["order_id"],
                points=r["points"],
                expired_at=r["at"],
                causation_id=f"lot:{r['id']}:expired",
            )
            for r in rows
        ),
    )
    return len(rows)


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


async def expire_holds(conn: Connection, now: datetime) -> int:
    return await release_expired(conn, now=now, limit=BATCH)


Job = Callable[[Connection, datetime], Awaitable[int]]
# In this order: a lot matures before it expires, and points a hold gives back to a lot whose
# time has passed expire in the same run.
JOBS: tuple[Job, ...] = (mature, expire_holds, expire, warn)


def _refunds_parked_in_a_race(policy: RefundPolicy) -> Job:
    async def apply_refunds_parked_in_a_race(conn: Connection, now: datetime) -> int:
        return await refunds.apply_refunds_parked_in_a_race(conn, policy, limit=BATCH)

    return apply_refunds_parked_in_a_race


def _stale_refunds(max_age: timedelta) -> Job:
    async def dead_letter_stale_refunds(conn: Connection, now: datetime) -> int:
        return await refunds.dead_letter_stale_parked(conn, before=now - max_age, limit=BATCH)

    return dead_letter_stale_refunds


async def run_due(
    pool: asyncpg.Pool,
    now: datetime | None = None,
    *,
    parked_refund_max_age: timedelta = PARKED_REFUND_MAX_AGE,
    refund_policy: RefundPolicy = "proportional",
) -> dict[str, int]:
    """Run every job until nothing is due; returns how many lots each handled. Parked refunds
    whose purchase is credited are applied before the others are judged stale."""
    done: dict[str, int] = {}
    parked = (_refunds_parked_in_a_race(refund_policy), _stale_refunds(parked_refund_max_age))
    for job in (*JOBS, *parked):
        done[job.__name__] = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                handled = await job(conn, now or datetime.now(UTC))
            done[job.__name__] += handled
            if handled < BATCH:
                break
    return done


class LifecycleJobs(PeriodicJob):
    failure = "points lifecycle jobs failed"

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        interval_s: float,
        parked_refund_max_age: timedelta,
        refund_policy: RefundPolicy,
    ) -> None:
        super().__init__(name="points-lifecycle-jobs", interval_s=interval_s)
        self._pool = pool
        self._parked_refund_max_age = parked_refund_max_age
        self._refund_policy = refund_policy

    async def run_once(self) -> None:
        done = await run_due(
            self._pool,
            parked_refund_max_age=self._parked_refund_max_age,
            refund_policy=self._refund_policy,
        )
        if any(done.values()):
            log.info("points lifecycle jobs ran", **done)
