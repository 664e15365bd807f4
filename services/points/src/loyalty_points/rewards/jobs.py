"""The coupons' scheduled work: reminders before unused coupons expire, then their expiry.
Each batch is its own transaction with its events in the outbox; safe with several replicas."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from loyalty_points.rewards import coupons
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import Rewards

log = get_logger(__name__)

BATCH = 1000


async def run_due(pool: asyncpg.Pool, rules: Rewards, now: datetime) -> dict[str, int]:
    """Remind, then expire, until nothing is due; returns how many coupons each handled."""
    done: dict[str, int] = {}
    for job in (coupons.remind, coupons.expire):
        done[job.__name__] = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                handled = await job(conn, now, rules, BATCH)
            done[job.__name__] += handled
            if handled < BATCH:
                break
    return done


class CouponJob(PeriodicJob):
    failure = "coupon jobs failed"

    def __init__(
        self, *, pool: asyncpg.Pool, interval_s: float, rules: Rewards, clock: Clock = system_clock
    ) -> None:
        super().__init__(name="points-coupon-jobs", interval_s=interval_s)
        self._pool = pool
        self._rules = rules
        self._clock = clock

    async def run_once(self) -> None:
        done = await run_due(self._pool, self._rules, self._clock())
        if any(done.values()):
            log.info("coupon jobs ran", **done)
