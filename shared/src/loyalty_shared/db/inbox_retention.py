"""The inbox forgets claims older than `LOYALTY_INBOX_RETENTION_DAYS`, in batches, every
`LOYALTY_INBOX_RETENTION_INTERVAL_S` (why that is safe:
docs/architecture.md#the-consumer-runner)."""

from __future__ import annotations

import asyncpg

from loyalty_shared.background import PeriodicJob
from loyalty_shared.db import inbox
from loyalty_shared.dlq import repository as dlq_repository
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)

BATCH = 10_000


async def forget_old_claims(pool: asyncpg.Pool, *, days: int) -> int:
    """Every claim older than `days`, in batches of their own short transactions."""
    forgotten = 0
    while True:
        async with pool.acquire() as conn:
            deleted = await inbox.forget_older_than(conn, days=days, limit=BATCH)
        forgotten += deleted
        if deleted < BATCH:
            return forgotten


async def forget_old_dead_letters(pool: asyncpg.Pool, *, days: int) -> int:
    """The dead letters kept for the console (loyalty_shared.dlq) older than `days`: by then the
    dead-letter topic has let go of their copies too."""
    forgotten = 0
    while True:
        async with pool.acquire() as conn:
            deleted = await dlq_repository.forget_older_than(conn, days=days, limit=BATCH)
        forgotten += deleted
        if deleted < BATCH:
            return forgotten


class InboxRetention(PeriodicJob):
    failure = "inbox retention failed"

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        days: int,
        interval_s: float,
        dead_letter_days: int = 30,
    ) -> None:
        super().__init__(name=f"{service}-inbox-retention", interval_s=interval_s)
        self._pool = pool
        self._days = days
        self._dead_letter_days = dead_letter_days

    async def run_once(self) -> None:
        forgotten = await forget_old_claims(self._pool, days=self._days)
        if forgotten:
            log.info("inbox claims forgotten", forgotten=forgotten, older_than_days=self._days)
        letters = await forget_old_dead_letters(self._pool, days=self._dead_letter_days)
        if letters:
            log.info(
                "dead letters forgotten", forgotten=letters, older_than_days=self._dead_letter_days
            )
