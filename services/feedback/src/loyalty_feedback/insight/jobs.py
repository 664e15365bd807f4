"""The scheduled recompute of every member's RFM segment: `member.segment_changed` for those
whose segment moved (recency moves with time alone, so this runs even without new events)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import asyncpg

from loyalty_feedback.events import emit
from loyalty_feedback.insight import repository
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.events.loyalty import MemberSegmentChangedV1
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import Program

log = get_logger(__name__)

BATCH = 2000


async def recompute_segments(pool: asyncpg.Pool, program: Program, now: datetime) -> int:
    """Recompute every member seen, batch by batch (one transaction each); returns how many
    changed segment. Rerunning it the same day with nothing new changes nothing and emits
    nothing; an event's id derives from member, day and new segment."""
    after, changed = "", 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            members = await repository.members_after(conn, after, BATCH)
            if not members:
                base = program.base_tier.name
                await repository.record_index_day(conn, day=now.date(), base_tier=base)
                return changed
            scores = await repository.compute(conn, members, now=now, currency=program.currency)
            moved = await repository.store(conn, scores, now=now)
            await emit(
                conn,
                *(
                    MemberSegmentChangedV1(
                        **asdict(c),
                        causation_id=f"segment:{c.member_id}:{now.date().isoformat()}:{c.to_segment}",
                    )
                    for c in moved
                ),
            )
        changed += len(moved)
        after = members[-1]


class InsightJob(PeriodicJob):
    failure = "segment recompute failed"

    def __init__(
        self, *, pool: asyncpg.Pool, program: Program, clock: Clock, interval_s: float
    ) -> None:
        super().__init__(name="feedback-insight", interval_s=interval_s)
        self._pool = pool
        self._program = program
        self._clock = clock

    async def run_once(self) -> None:
        changed = await recompute_segments(self._pool, self._program, self._clock())
        if changed:
            log.info("member segments changed", members=changed)
