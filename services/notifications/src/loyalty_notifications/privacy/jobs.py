"""Retention of message contents: a finished message keeps its contents (the template variables it
was rendered from) `LOYALTY_NOTIFICATIONS_MESSAGE_RETENTION_DAYS` (180), a survey invitation its
link until the link expires; the history keeps the rest (trigger, channel, status, times)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import asyncpg

from loyalty_notifications.privacy import repository
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)

BATCH = 5_000

Step = Callable[[Connection], Awaitable[int]]


async def _in_batches(pool: asyncpg.Pool, step: Step) -> int:
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            done = await step(conn)
        total += done
        if done < BATCH:
            return total


async def scrub(pool: asyncpg.Pool, *, now: datetime, keep: timedelta) -> tuple[int, int]:
    """Everything due, a batch per transaction; returns how many contents and links went."""
    contents = await _in_batches(
        pool, lambda conn: repository.scrub_contents(conn, before=now - keep, limit=BATCH)
    )
    links = await _in_batches(
        pool, lambda conn: repository.scrub_expired_links(conn, now=now, limit=BATCH)
    )
    return contents, links


class MessageRetention(PeriodicJob):
    failure = "message retention failed"

    def __init__(self, *, pool: asyncpg.Pool, clock: Clock, days: float, interval_s: float) -> None:
        super().__init__(name="notifications-message-retention", interval_s=interval_s)
        self._pool = pool
        self._clock = clock
        self._keep = timedelta(days=days)

    async def run_once(self) -> None:
        contents, links = await scrub(self._pool, now=self._clock(), keep=self._keep)
        if contents or links:
            log.info("message contents scrubbed", contents=contents, survey_links=links)
