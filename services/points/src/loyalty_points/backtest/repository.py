"""SQL of the backtest: the stored purchases of a time range, streamed from a server-side
cursor in batches (the caller's transaction holds the cursor). The next batch is asked for
before the caller works on the one in hand, so PostgreSQL reads it meanwhile: two batches in
memory at most."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class StoredPurchase:
    """A purchase as the backtest earns it again; `categories` only when asked for."""

    total: Decimal
    currency: str
    channel: str
    tier: str
    points: int
    purchased_at: datetime
    refunded_total: Decimal
    categories: dict[str, str] | None
    has_categories: bool


async def purchases(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    with_categories: bool,
    batch: int,
) -> AsyncGenerator[list[StoredPurchase], None]:
    """The purchases of [since, until), `batch` at a time."""
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
    ahead = asyncio.ensure_future(cursor.fetch(batch))
    try:
        while rows := await ahead:
            ahead = asyncio.ensure_future(cursor.fetch(batch))
            await asyncio.sleep(0)  # let it send the request before the caller takes the CPU
            yield [StoredPurchase(*r) for r in rows]
    finally:
        if not ahead.done():
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ahead
