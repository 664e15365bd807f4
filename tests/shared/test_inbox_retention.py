"""The inbox forgets claims older than its retention (90 days by default), so it stops growing
with every event ever applied; anything that can still be redelivered is still recognised."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from loyalty_shared.db import inbox
from loyalty_shared.db.inbox_retention import BATCH, forget_old_claims
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.pool import create_pool
from loyalty_shared.settings import ServiceSettings
from tests.support.tokens import SECRET


@pytest.fixture
async def pool(new_database: Callable[[str], str], tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    dsn = new_database("inbox")
    (tmp_path / "migrations").mkdir()
    await migrate(dsn, tmp_path / "migrations")
    pool = await create_pool(dsn, ServiceSettings(jwt_secret=SECRET))
    yield pool
    await pool.close()


async def claims_aged(pool: asyncpg.Pool, days: int, ids: list[str]) -> None:
    await pool.execute(
        """
        INSERT INTO processed_event (consumer, event_id, processed_at)
        SELECT 'points', id, now() - make_interval(days => $2) FROM unnest($1::text[]) AS id
        """,
        ids,
        days,
    )


async def test_claims_older_than_the_retention_are_forgotten_and_recent_ones_kept(
    pool: asyncpg.Pool,
) -> None:
    old = [f"old-{n}" for n in range(BATCH + 5)]  # more than one batch
    await claims_aged(pool, 91, old)
    await claims_aged(pool, 29, ["dead-lettered-last-month"])
    async with pool.acquire() as conn:
        await inbox.claim_many(conn, "points", ["applied-just-now"])

    forgotten = await forget_old_claims(pool, days=90)

    assert forgotten == len(old)
    left = {row["event_id"] for row in await pool.fetch("SELECT event_id FROM processed_event")}
    assert left == {"dead-lettered-last-month", "applied-just-now"}


async def test_an_event_redelivered_within_the_retention_is_still_a_duplicate(
    pool: asyncpg.Pool,
) -> None:
    await claims_aged(pool, 89, ["e-1"])

    await forget_old_claims(pool, days=90)
    async with pool.acquire() as conn:
        fresh = await inbox.claim_many(conn, "points", ["e-1", "e-2"])

    assert fresh == {"e-2"}
