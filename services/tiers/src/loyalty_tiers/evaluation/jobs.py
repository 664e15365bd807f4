"""The scheduled downgrade evaluation (see repository.py for the rules it applies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from loyalty_shared.background import PeriodicJob
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import Program
from loyalty_tiers.evaluation import downgrade_warnings, repository
from loyalty_tiers.events import emit, tier_changed

log = get_logger(__name__)

BATCH = 2000


async def evaluate(pool: asyncpg.Pool, program: Program, now: datetime | None = None) -> int:
    """Evaluate every due member, batch by batch; returns how many changed tier."""
    now = now or datetime.now(UTC)
    ladder = program.tiers.ladder
    changed = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await repository.evaluate_due(
                conn,
                now=now,
                today=now.date(),
                window_start=now.date() - timedelta(days=program.tiers.qualifying_window_days),
                validity=timedelta(days=program.tiers.validity_days),
                names=[tier.name for tier in ladder],
                thresholds=[tier.threshold for tier in ladder],
                limit=BATCH,
            )
            downgrades = [r for r in rows if r["to_tier"] != r["from_tier"]]
            await emit(
                conn,
                [
                    tier_changed(
                        program,
                        member_id=r["member_id"],
                        from_tier=r["from_tier"],
                        to_tier=r["to_tier"],
                        reason="evaluation",
                        spend=r["spend"],
                        valid_until=r["valid_until"],
                        cause=f"evaluation:{now.date().isoformat()}",
                    )
                    for r in downgrades
                ],
            )
        changed += len(downgrades)
        if len(rows) < BATCH:
            return changed


class EvaluationJob(PeriodicJob):
    failure = "tier evaluation failed"

    def __init__(self, *, pool: asyncpg.Pool, program: Program, interval_s: float) -> None:
        super().__init__(name="tiers-evaluation", interval_s=interval_s)
        self._pool = pool
        self._program = program

    async def run_once(self) -> None:
        changed = await evaluate(self._pool, self._program)
        await downgrade_warnings.warn(self._pool, self._program, datetime.now(UTC))
        if changed:
            log.info("tier evaluation downgraded members", members=changed)
