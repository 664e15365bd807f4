"""SQL of warning of expiry: due lots picked `FOR UPDATE SKIP LOCKED` and marked warned in the
same statement, so two replicas running the job at once never warn of a lot twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    id: int
    member_id: str
    points: int
    expires_at: datetime


async def warn_expiring(
    conn: Connection, *, now: datetime, horizon: datetime, limit: int
) -> list[ExpiringLot]:
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT id FROM points_lot
            WHERE remaining > 0 AND expiry_notice_at IS NULL
              AND expires_at > $1 AND expires_at <= $2
            ORDER BY expires_at, id LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE points_lot l SET expiry_notice_at = $1 FROM due WHERE l.id = due.id
        RETURNING l.id, l.member_id, l.remaining AS points, l.expires_at
        """,
        now,
        horizon,
        limit,
    )
    return [ExpiringLot(**dict(row)) for row in rows]
