"""SQL of abuse controls: what the thresholds count, the flags, the points held for review and
the reviews that released or voided them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import FlagReason

FlagStatus = Literal["open", "released", "voided"]
Decision = Literal["release", "void"]

#: The ledger's actors of points a member's own activity earns (what `points_per_day` counts).
EARNING_ACTORS = ["system:purchase", "system:action"]


@dataclass(frozen=True, slots=True)
class FlagRow:
    id: int
    member_id: str
    reason: FlagReason
    threshold: Decimal
    observed: Decimal
    local_day: date | None
    flagged_at: datetime
    cause_event_id: str
    status: FlagStatus
    review_id: int | None


_FLAG_COLUMNS = (
    "id",
    "member_id",
    "reason",
    "threshold",
    "observed",
    "local_day",
    "flagged_at",
    "cause_event_id",
    "status",
    "review_id",
)
_FLAG = ", ".join(_FLAG_COLUMNS)


# ---- what the thresholds count -------------------------------------------------------------


async def refunds_since(conn: Connection, member_id: str, since: datetime) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM refund WHERE member_id = $1 AND refunded_at > $2", member_id, since
    )
    return count


@dataclass(frozen=True, slots=True)
class Refunded:
    purchases: int
    purchased: Decimal
    refunded: Decimal


async def refunded_since(conn: Connection, member_id: str, since: datetime) -> Refunded:
    """The member's purchases (how many, how much) and refunds (how much) since `since`."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM purchase WHERE member_id = $1 AND purchased_at > $2)
                   AS purchases,
               (SELECT coalesce(sum(total), 0) FROM purchase
                WHERE member_id = $1 AND purchased_at > $2) AS purchased,
               (SELECT coalesce(sum(amount), 0) FROM refund
                WHERE member_id = $1 AND refunded_at > $2) AS refunded
        """,
        member_id,
        since,
    )
    assert row is not None
    return Refunded(**dict(row))


async def points_earned(
    conn: Connection, days: Sequence[tuple[str, datetime, datetime]]
) -> list[int]:
    """For each (member, start, end): the points their purchases and actions earned in
    [start, end), by when each was earned."""
    rows = await conn.fetch(
        """
        SELECT coalesce(sum(e.lifetime_delta), 0)::bigint AS points
        FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[])
             WITH ORDINALITY AS d (member_id, starts, ends, n)
        LEFT JOIN ledger_entry e
               ON e.member_id = d.member_id AND e.kind = 'earn'
              AND e.actor = ANY($4::text[])
              AND e.occurred_at >= d.starts AND e.occurred_at < d.ends
        GROUP BY d.n ORDER BY d.n
        """,
        [d[0] for d in days],
        [d[1] for d in days],
        [d[2] for d in days],
        EARNING_ACTORS,
    )
    return [row["points"] for row in rows]


async def actions_on(conn: Connection, member_id: str, day: date) -> int:
    """The actions the program names the member took on `day` (with points or without)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM member_action WHERE member_id = $1 AND local_day = $2",
        member_id,
        day,
    )
    return count


async def credited_orders(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT order_id FROM purchase WHERE order_id = ANY($1::text[])", list(order_ids)
    )
    return {row["order_id"] for row in rows}


# ---- flags ---------------------------------------------------------------------------------


async def flagged_members(conn: Connection, member_ids: Sequence[str]) -> set[str]:
    """Those of the members with an open flag."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT member_id FROM member_flag
        WHERE status = 'open' AND member_id = ANY($1::text[])
        """,
        list(set(member_ids)),
    )
    return {row["member_id"] for row in rows}


async def flagged_before(
    conn: Connection, member_id: str, reason: FlagReason, *, day: date | None, since: datetime
) -> bool:
    """Whether the member was flagged for `reason` on `day` (a daily threshold) or, without a
    day, since `since`."""
    found: bool = await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM member_flag
                       WHERE member_id = $1 AND reason = $2
                         AND CASE WHEN $3::date IS NULL THEN flagged_at > $4
                                  ELSE local_day = $3 END)
        """,
        member_id,
        reason,
        day,
        since,
    )
    return found


async def insert_flag(
    conn: Connection,
    *,
    member_id: str,
    reason: FlagReason,
    threshold: Decimal,
    observed: Decimal,
    local_day: date | None,
    flagged_at: datetime,
    cause_event_id: str,
) -> FlagRow:
    row = await conn.fetchrow(
        f"""
        INSERT INTO member_flag (member_id, reason, threshold, observed, local_day, flagged_at,
                                 cause_event_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING {_FLAG}
        """,
        member_id,
        reason,
        threshold,
        observed,
        local_day,
        flagged_at,
        cause_event_id,
    )
    assert row is not None
    return FlagRow(**dict(row))


async def flags_of(conn: Connection, member_id: str, *, limit: int) -> list[FlagRow]:
    """The member's flags, newest first."""
    rows = await conn.fetch(
        f"SELECT {_FLAG} FROM member_flag WHERE member_id = $1 ORDER BY id DESC LIMIT $2",
        member_id,
        limit,
    )
    return [FlagRow(**dict(row)) for row in rows]


async def open_flags(conn: Connection, member_id: str) -> list[FlagRow]:
    """The member's open flags, locked until the transaction ends, oldest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_FLAG} FROM member_flag WHERE member_id = $1 AND status = 'open'
        ORDER BY id FOR UPDATE
        """,
        member_id,
    )
    return [FlagRow(**dict(row)) for row in rows]


@dataclass(frozen=True, slots=True)
class ListedFlag:
    flag: FlagRow
    #: the member's points held for review now
    held_points: int


async def flag_page(
    conn: Connection, *, status: FlagStatus, before_id: int | None, limit: int
) -> list[ListedFlag]:
    """Flags in `status`, newest first, older than `before_id`."""
    rows = await conn.fetch(
        f"""
        SELECT {", ".join(f"f.{column}" for column in _FLAG_COLUMNS)},
               (SELECT coalesce(sum(l.remaining), 0) FROM points_lot l
                WHERE l.member_id = f.member_id AND l.under_review)::bigint AS held_points
        FROM member_flag f
        WHERE f.status = $1 AND ($2::bigint IS NULL OR f.id < $2)
        ORDER BY f.id DESC
        LIMIT $3
        """,
        status,
        before_id,
        limit,
    )
    return [
        ListedFlag(
            FlagRow(**{k: v for k, v in dict(row).items() if k != "held_points"}),
            row["held_points"],
        )
        for row in rows
    ]


async def close_flags(
    conn: Connection, flag_ids: Sequence[int], *, status: FlagStatus, review_id: int
) -> None:
    await conn.execute(
        "UPDATE member_flag SET status = $2, review_id = $3 WHERE id = ANY($1::bigint[])",
        list(flag_ids),
        status,
        review_id,
    )


# ---- points held for review ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeldLot:
    id: int
    order_id: str | None
    points: int
    remaining: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime


async def held_lots(conn: Connection, member_id: str, *, for_update: bool = False) -> list[HeldLot]:
    rows = await conn.fetch(
        f"""
        SELECT id, order_id, points, remaining, earned_at, available_at, expires_at
        FROM points_lot WHERE member_id = $1 AND under_review
        ORDER BY id {"FOR UPDATE" if for_update else ""}
        """,
        member_id,
    )
    return [HeldLot(**dict(row)) for row in rows]


async def release_lots(conn: Connection, lot_ids: Sequence[int], now: datetime) -> None:
    """The lots mature as usual from now on: those whose return window is over by now at once
    (never before the release: they were not available until then)."""
    await conn.execute(
        """
        UPDATE points_lot SET under_review = false, available_at = greatest(available_at, $2)
        WHERE id = ANY($1::bigint[])
        """,
        list(lot_ids),
        now,
    )


async def end_review(conn: Connection, lot_ids: Sequence[int]) -> None:
    await conn.execute(
        "UPDATE points_lot SET under_review = false WHERE id = ANY($1::bigint[])", list(lot_ids)
    )


async def count_voided(conn: Connection, order_id: str, points: int) -> None:
    """A voided purchase's points: a later refund of the order does not take them again."""
    await conn.execute(
        "UPDATE purchase SET points_voided = points_voided + $2 WHERE order_id = $1",
        order_id,
        points,
    )


# ---- reviews -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    member_id: str
    request_hash: str
    decision: Decision
    reason: str
    points: int
    decided_by: str
    decided_at: datetime
    flag_ids: list[int]


_REVIEW = """r.id, r.member_id, r.request_hash, r.decision, r.reason, r.points, r.decided_by,
             r.decided_at,
             ARRAY(SELECT f.id FROM member_flag f WHERE f.review_id = r.id ORDER BY f.id)
                 AS flag_ids"""


async def review_by_key(conn: Connection, member_id: str, key: str) -> ReviewRow | None:
    row = await conn.fetchrow(
        f"SELECT {_REVIEW} FROM flag_review r WHERE r.member_id = $1 AND r.idempotency_key = $2",
        member_id,
        key,
    )
    return ReviewRow(**dict(row)) if row is not None else None


async def insert_review(
    conn: Connection,
    *,
    member_id: str,
    key: str,
    request_hash: str,
    decision: Decision,
    reason: str,
    points: int,
    decided_by: str,
    decided_at: datetime,
) -> int:
    review_id: int = await conn.fetchval(
        """
        INSERT INTO flag_review (member_id, idempotency_key, request_hash, decision, reason,
                                 points, decided_by, decided_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        RETURNING id
        """,
        member_id,
        key,
        request_hash,
        decision,
        reason,
        points,
        decided_by,
        decided_at,
    )
    return review_id


async def review(conn: Connection, review_id: int) -> ReviewRow:
    row = await conn.fetchrow(f"SELECT {_REVIEW} FROM flag_review r WHERE r.id = $1", review_id)
    assert row is not None
    return ReviewRow(**dict(row))


async def erase_reasons(conn: Connection, member_ids: Sequence[str], erased: str) -> None:
    """An erased member's reviews keep their decisions and figures, not the operators' words."""
    await conn.execute(
        "UPDATE flag_review SET reason = $2 WHERE member_id = ANY($1::text[]) AND reason <> $2",
        list(member_ids),
        erased,
    )
