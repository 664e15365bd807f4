"""A member's lots with points left."""

from __future__ import annotations

from loyalty_points.lots.schemas import Lot
from loyalty_shared.db import Connection


async def open_lots(conn: Connection, member_id: str, limit: int) -> list[Lot]:
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
    return [Lot(**dict(row)) for row in rows]
