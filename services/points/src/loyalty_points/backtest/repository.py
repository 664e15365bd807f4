"""SQL of the backtest: the stored purchases of a time range, streamed from a server-side
cursor in batches (the caller's transaction holds the cursor)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

from loyalty_shared.db import Connection


async def purchases(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    with_categories: bool,
    batch: int,
) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows of (total, currency, channel, tier, points, purchased_at, refunded_total,
    categories, has_categories), `batch` at a time; `categories` is only read when asked."""
    cursor = await conn.cursor(
        """
        SELECT total, currency, channel, tier, points, purchased_at, refunded_total,
               CASE WHEN $3 THEN categories END, categories IS NOT NULL
        FROM purchase
        WHERE purchased_at >= $1 AND purchased_at < $2
        """,
        since,
        until,
        with_categories,
    )
    while rows := await cursor.fetch(batch):
        yield rows
