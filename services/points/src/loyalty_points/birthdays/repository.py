"""Members' birthdays (month and day only) and the bonus decided for each member and year."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class ProfileBirthday:
    """What one profile event said: the birthday, or None when it has none."""

    member_id: str
    birthday: date | None


async def record(conn: Connection, profiles: Sequence[ProfileBirthday], now: datetime) -> None:
    """Keep the month and day of each profile's birthday (the last of a member's events in the
    batch wins); a profile without one drops what was kept."""
    last = {p.member_id: p.birthday for p in profiles}
    kept = {m: b for m, b in last.items() if b is not None}
    gone = [m for m, b in last.items() if b is None]
    if gone:
        await conn.execute("DELETE FROM member_birthday WHERE member_id = ANY($1::text[])", gone)
    if kept:
        await conn.execute(
            """
            INSERT INTO member_birthday (member_id, month, day, updated_at)
            SELECT member_id, month, day, $4
            FROM unnest($1::text[], $2::smallint[], $3::smallint[]) AS b (member_id, month, day)
            ON CONFLICT (member_id) DO UPDATE
               SET month = EXCLUDED.month, day = EXCLUDED.day, updated_at = EXCLUDED.updated_at
            """,
            list(kept),
            [b.month for b in kept.values()],
            [b.day for b in kept.values()],
            now,
        )


async def erase(conn: Connection, member_ids: Sequence[str]) -> None:
    await conn.execute(
        "DELETE FROM member_birthday WHERE member_id = ANY($1::text[])", list(member_ids)
    )


async def claim_due(
    conn: Connection, *, days: Sequence[tuple[int, int]], year: int, limit: int
) -> list[str]:
    """Members whose birthday is one of `days` (month, day) and whose bonus for `year` is not
    decided yet, claimed: their row for the year is inserted now (points to follow), so another
    replica's job, or this one's next run, passes them by. Returns the claimed members."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT b.member_id FROM member_birthday b
            WHERE (b.month, b.day) IN (SELECT * FROM unnest($1::smallint[], $2::smallint[]))
              AND NOT EXISTS (SELECT 1 FROM birthday_bonus g
                              WHERE g.member_id = b.member_id AND g.year = $3)
            ORDER BY b.member_id
            LIMIT $4
            FOR UPDATE OF b SKIP LOCKED
        )
        INSERT INTO birthday_bonus (member_id, year, tier, points)
        SELECT member_id, $3, '', 0 FROM due
        ON CONFLICT (member_id, year) DO NOTHING
        RETURNING member_id
        """,
        [m for m, _ in days],
        [d for _, d in days],
        year,
        limit,
    )
    return sorted(row["member_id"] for row in rows)


async def decided(
    conn: Connection, member_id: str, year: int, *, tier: str, points: int, entry_id: int | None
) -> None:
    await conn.execute(
        """
        UPDATE birthday_bonus SET tier = $3, points = $4, entry_id = $5
        WHERE member_id = $1 AND year = $2
        """,
        member_id,
        year,
        tier,
        points,
        entry_id,
    )
