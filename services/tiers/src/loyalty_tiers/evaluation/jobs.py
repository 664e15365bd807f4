"""The scheduled downgrade evaluation and the warnings that come 30 days before it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg

from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.envelope import OutgoingEvent
from loyalty_shared.events.loyalty import TierDowngradeWarningV1
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import Program
from loyalty_tiers.evaluation import repository
from loyalty_tiers.evaluation.repository import DowngradeDue
from loyalty_tiers.events import SOURCE, emit, tier_changed

log = get_logger(__name__)

BATCH = 2000
#: How long before the evaluation that would drop a member the warning goes out.
NOTICE = timedelta(days=30)


async def evaluate(pool: asyncpg.Pool, program: Program, now: datetime) -> int:
    """Evaluate every due member, batch by batch; returns how many changed tier."""
    changed = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await repository.evaluate_due(
                conn,
                now=now,
                today=now.date(),
                window_start=now.date() - timedelta(days=program.tiers.qualifying_window_days),
                validity=timedelta(days=program.tiers.validity_days),
                ladder=program.tiers.ladder,
                limit=BATCH,
            )
            downgrades = [r for r in rows if r.to_tier != r.from_tier]
            await emit(
                conn,
                [
                    tier_changed(
                        program,
                        member_id=r.member_id,
                        from_tier=r.from_tier,
                        to_tier=r.to_tier,
                        reason="evaluation",
                        spend=r.spend,
                        valid_until=r.valid_until,
                        cause=f"evaluation:{now.date().isoformat()}",
                    )
                    for r in downgrades
                ],
            )
        changed += len(downgrades)
        if len(rows) < BATCH:
            return changed


async def warn(pool: asyncpg.Pool, program: Program, now: datetime) -> int:
    """`tier.downgrade_warning` for every member due one, once per validity period; returns how
    many were warned."""
    warned = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await repository.downgrades_due(
                conn,
                now=now,
                notice=NOTICE,
                window=timedelta(days=program.tiers.qualifying_window_days),
                ladder=program.tiers.ladder,
                limit=BATCH,
            )
            await emit(conn, [_warning(r) for r in rows])
        warned += len(rows)
        if not rows:
            return warned


def _warning(due: DowngradeDue) -> OutgoingEvent:
    data = TierDowngradeWarningV1(
        member_id=due.member_id,
        tier=due.tier,
        would_drop_to=due.drop_to,
        evaluation_at=due.valid_until,
        qualifying_spend_then=due.spend.quantize(Decimal("0.01")),
        spend_needed=due.needed.quantize(Decimal("0.01")),
        causation_id=f"downgrade-warning:{due.member_id}:{due.valid_until.isoformat()}",
    )
    return platform_event(data, source=SOURCE)


class EvaluationJob(PeriodicJob):
    failure = "tier evaluation failed"

    def __init__(
        self, *, pool: asyncpg.Pool, program: Program, clock: Clock, interval_s: float
    ) -> None:
        super().__init__(name="tiers-evaluation", interval_s=interval_s)
        self._pool = pool
        self._program = program
        self._clock = clock

    async def run_once(self) -> None:
        changed = await evaluate(self._pool, self._program, self._clock())
        await warn(self._pool, self._program, self._clock())
        if changed:
            log.info("tier evaluation downgraded members", members=changed)
