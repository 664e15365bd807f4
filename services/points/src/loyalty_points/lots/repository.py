"""A member's lots with points left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class LotRow:
    id: int
    order_id: str | None
    points: int
    remaining: int
    status: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime


async def open_lots(conn: Connection, member_id: str, limit: int) -> list[LotRow]:
    rows = await conn.fetch(
        """
        SELECT id, order_id, points, remaining, status, earned_at, available_at, expires_at
        FROM points_lot
        WHERE member_id = $1 AND remaining > 0
        ORDER BY expires_at, id
        LIMIT $2
        """,
        member_id,
        limit,
    )
    return [LotRow(**dict(row)) for row in rows]
