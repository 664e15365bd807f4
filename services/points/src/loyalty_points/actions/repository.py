"""The actions the points service has taken, once per `action_id`, with what each earned."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date, datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class TakenAction:
    action_id: str
    member_id: str
    action: str
    occurred_at: datetime
    local_day: date
    #: 0 when a cap of the program left it without points.
    points: int
    entry_id: int | None
    recorded_at: datetime


async def is_taken(conn: Connection, action_id: str) -> bool:
    taken: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM member_action WHERE action_id = $1)", action_id
    )
    return taken


async def rewarded(conn: Connection, member_id: str, action: str, day: date | None) -> int:
    """How many of the member's `action`s earned points: on `day`, or ever when None."""
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM member_action
        WHERE member_id = $1 AND action = $2 AND points > 0
          AND ($3::date IS NULL OR local_day = $3)
        """,
        member_id,
        action,
        day,
    )
    return count


async def record(conn: Connection, taken: TakenAction) -> None:
    await conn.execute(
        """
        INSERT INTO member_action (action_id, member_id, action, occurred_at, local_day, points,
                                   entry_id, recorded_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        *astuple(taken),
    )
