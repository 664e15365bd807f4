"""The inbox: ids of the events a consumer has applied, written in the same transaction as the
state change, so a redelivered event finds its id and changes nothing.

The table is `processed_event` (db/migrations/, applied before every service's own).
"""

from __future__ import annotations

from loyalty_shared.db import Connection


async def claim(conn: Connection, consumer: str, event_id: str) -> bool:
    """Record the event as applied; False means it already was and must change nothing."""
    row = await conn.fetchval(
        """
        INSERT INTO processed_event (consumer, event_id) VALUES ($1, $2)
        ON CONFLICT DO NOTHING
        RETURNING 1
        """,
        consumer,
        event_id,
    )
    return row is not None


async def claim_many(conn: Connection, consumer: str, event_ids: list[str]) -> set[str]:
    """Claim a batch of ids in one statement; returns those not applied before."""
    rows = await conn.fetch(
        """
        INSERT INTO processed_event (consumer, event_id)
        SELECT $1, unnest($2::text[])
        ON CONFLICT DO NOTHING
        RETURNING event_id
        """,
        consumer,
        event_ids,
    )
    return {row["event_id"] for row in rows}


async def is_claimed(conn: Connection, consumer: str, event_id: str) -> bool:
    """Whether the event has been applied (and not released since)."""
    found = await conn.fetchval(
        "SELECT 1 FROM processed_event WHERE consumer = $1 AND event_id = $2", consumer, event_id
    )
    return found is not None


async def release(conn: Connection, consumer: str, event_id: str) -> None:
    """Forget a claim: the event was refused, so a corrected one with the same id may apply."""
    await conn.execute(
        "DELETE FROM processed_event WHERE consumer = $1 AND event_id = $2", consumer, event_id
    )


async def forget_older_than(conn: Connection, *, days: int, limit: int) -> int:
    """Forget up to `limit` claims older than `days`; returns how many. Rows another replica is
    deleting right now are skipped, not waited for."""
    deleted: str = await conn.execute(
        """
        DELETE FROM processed_event
        WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM processed_event
            WHERE processed_at < now() - make_interval(days => $1)
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ))
        """,
        days,
        limit,
    )
    return int(deleted.split()[-1])
