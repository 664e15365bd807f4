"""A read of several statements (`ReadOnly`) answers from one snapshot: a commit landing between
its statements shows in none of them, so an answer never mixes before and after (a tier read
once answered silver with no qualifying spend, its two reads either side of the upgrade)."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from loyalty_shared.http.db import _read_only
from loyalty_shared.runtime import runtime_of


async def test_a_commit_between_two_statements_of_a_read_shows_in_neither(
    tiers_app: FastAPI,
) -> None:
    pool = runtime_of(tiers_app).pool
    await pool.execute("CREATE TABLE snapshot_probe (n int)")
    reading = _read_only(tiers_app)  # type: ignore[arg-type]
    conn = await anext(reading)
    try:
        assert await conn.fetchval("SELECT count(*) FROM snapshot_probe") == 0
        writer: asyncpg.Connection = await asyncpg.connect(
            runtime_of(tiers_app).settings.database_url
        )
        try:
            await writer.execute("INSERT INTO snapshot_probe VALUES (1)")
        finally:
            await writer.close()
        assert await conn.fetchval("SELECT count(*) FROM snapshot_probe") == 0
    finally:
        await reading.aclose()
    assert await pool.fetchval("SELECT count(*) FROM snapshot_probe") == 1
