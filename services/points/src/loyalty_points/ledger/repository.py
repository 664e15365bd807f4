"""Moving a member's points: a ledger entry, the same change to the balances, and the lots made
to agree with the balance, in the caller's transaction. Crediting a batch of purchases does the
same set-based (earning/repository.py); what time decides is in ledger/settlement.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from loyalty_points.ledger.expiry import LotExpiry
from loyalty_shared.db import Connection

EntryKind = Literal[
    "earn",
    "mature",
    "reverse",
    "redeem",
    "redeem_cancel",
    "expire",
    "adjust",
    "hold",
    "hold_release",
    "opening",
    "review_void",
]


@dataclass(frozen=True, slots=True)
class Movement:
    member_id: str
    kind: EntryKind
    actor: str
    occurred_at: datetime
    available_delta: int = 0
    pending_delta: int = 0
    lifetime_delta: int = 0
    held_delta: int = 0
    order_id: str | None = None
    lot_id: int | None = None
    cause_event_id: str | None = None
    redemption_id: UUID | None = None
    hold_id: UUID | None = None
    details: dict[str, Any] | None = None


async def move(
    conn: Connection,
    movement: Movement,
    *,
    returning_from: Sequence[int] = (),
    first_from: tuple[int, int] | None = None,
    expiry: LotExpiry | None = None,
) -> int:
    """Record `movement` and make the member's lots agree with the new balance; returns the
    entry's id. `returning_from`: entries whose points come back to the lots they took them from
    (a cancelled redemption, a released hold), at their original expiry. `first_from`: a lot and
    the points the entry takes from it before any other (a refund, from its order's lot).
    `expiry`: the program's, for a movement that is the member's activity (points granted, a
    redemption, a hold): under `rolling` it pushes their points' expiry (`push_expiries`; the
    caller settled the member to now, as `open_account` does)."""
    if expiry is not None and (movement.kind in ("redeem", "hold") or movement.lifetime_delta > 0):
        at = movement.occurred_at
        await push_expiries(conn, expiry, [(movement.member_id, at)], now=at)
    entry_id = await _record(conn, movement)
    if returning_from:
        await _return_to_lots(conn, from_entries=returning_from, entry_id=entry_id)
    if first_from is not None and first_from[1] > 0:
        await _take_from_lot(conn, lot_id=first_from[0], points=first_from[1], entry_id=entry_id)
    await conform_lots(conn, movement.member_id, entry_id)
    return entry_id


async def _record(conn: Connection, movement: Movement) -> int:
    """Append the entry and apply it to the balances (the account exists: `open_account`)."""
    entry_id: int = await conn.fetchval(
        """
        WITH entry AS (
            INSERT INTO ledger_entry (member_id, kind, available_delta, pending_delta,
                                      lifetime_delta, order_id, lot_id, cause_event_id,
                                      redemption_id, actor, occurred_at, details, held_delta,
                                      hold_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            RETURNING id
        ), account AS (
            UPDATE points_account
               SET available = available + $3, pending = pending + $4,
                   lifetime_earned = lifetime_earned + $5, held = held + $13, updated_at = now()
             WHERE member_id = $1
        )
        SELECT id FROM entry
        """,
        movement.member_id,
        movement.kind,
        movement.available_delta,
        movement.pending_delta,
        movement.lifetime_delta,
        movement.order_id,
        movement.lot_id,
        movement.cause_event_id,
        movement.redemption_id,
        movement.actor,
        movement.occurred_at,
        movement.details or {},
        movement.held_delta,
        movement.hold_id,
    )
    return entry_id


async def lock_accounts(conn: Connection, member_ids: Sequence[str]) -> None:
    """Lock these members' balances for this transaction (creating them at zero), in one order.

    Every change to a member's points takes this lock first, so two requests can never spend the
    same points, and one lock order (account, then lots) leaves no room for a deadlock."""
    await conn.execute(
        """
        INSERT INTO points_account (member_id)
        SELECT m FROM unnest($1::text[]) AS m ORDER BY m
        ON CONFLICT DO NOTHING
        """,
        list(member_ids),
    )
    await conn.execute(
        "SELECT 1 FROM points_account WHERE member_id = ANY($1::text[]) ORDER BY member_id "
        "FOR UPDATE",
        list(member_ids),
    )


async def latest_entry(conn: Connection, member_id: str, kind: EntryKind) -> int:
    entry_id: int = await conn.fetchval(
        "SELECT max(id) FROM ledger_entry WHERE member_id = $1 AND kind = $2", member_id, kind
    )
    return entry_id


async def available(conn: Connection, member_id: str) -> int | None:
    """The member's available points, None for a member never seen."""
    points: int | None = await conn.fetchval(
        "SELECT available FROM points_account WHERE member_id = $1", member_id
    )
    return points


async def conform_lots(conn: Connection, member_id: str, entry_id: int) -> None:
    """The member's available lots give up what the balance no longer holds, soonest to expire
    first, recorded as `entry_id`'s allocations: after a spend, the points it spent; after a
    reversal, what the order's own lot could not give; while the balance is negative, every
    point that arrives (it repays the debt first). So the lots always hold exactly `available`
    when it is positive, and nothing when it is not."""
    await conn.execute(
        """
        WITH lots AS (
            SELECT id, remaining,
                   sum(remaining) OVER (ORDER BY expires_at, id) - remaining AS before
            FROM points_lot
            WHERE member_id = $1 AND status = 'available' AND remaining > 0
        ), excess AS (
            SELECT coalesce((SELECT sum(remaining) FROM lots), 0)
                   - greatest((SELECT available FROM points_account WHERE member_id = $1), 0)
                   AS points
        ), cut AS (
            SELECT lots.id, least(lots.remaining, excess.points - lots.before) AS points
            FROM lots, excess WHERE excess.points > lots.before
        ), taken AS (
            UPDATE points_lot l SET remaining = l.remaining - cut.points
            FROM cut WHERE l.id = cut.id
        )
        INSERT INTO lot_allocation (ledger_entry_id, lot_id, points)
        SELECT $2, id, points FROM cut
        ON CONFLICT (ledger_entry_id, lot_id)
        DO UPDATE SET points = lot_allocation.points + EXCLUDED.points
        """,
        member_id,
        entry_id,
    )


async def _take_from_lot(conn: Connection, *, lot_id: int, points: int, entry_id: int) -> None:
    await conn.execute(
        """
        WITH taken AS (UPDATE points_lot SET remaining = remaining - $2 WHERE id = $1)
        INSERT INTO lot_allocation (ledger_entry_id, lot_id, points) VALUES ($3, $1, $2)
        """,
        lot_id,
        points,
        entry_id,
    )


async def _return_to_lots(conn: Connection, *, from_entries: Sequence[int], entry_id: int) -> None:
    """What `from_entries` took from their lots goes back to them, recorded as `entry_id`'s
    (negative) allocations; a lot past its expiry by then expires it at the next settlement."""
    await conn.execute(
        """
        WITH given AS (
            SELECT lot_id, sum(points) AS points FROM lot_allocation
            WHERE ledger_entry_id = ANY($1::bigint[]) GROUP BY lot_id HAVING sum(points) <> 0
        ), lots AS (
            UPDATE points_lot l SET remaining = l.remaining + given.points
            FROM given WHERE l.id = given.lot_id
        )
        INSERT INTO lot_allocation (ledger_entry_id, lot_id, points)
        SELECT $2, lot_id, -points FROM given
        """,
        list(from_entries),
        entry_id,
    )


async def grant(
    conn: Connection,
    *,
    member_id: str,
    points: int,
    earned_at: datetime,
    expiry: LotExpiry,
    origin: str,
    actor: str,
    details: dict[str, Any],
    cause_event_id: str | None = None,
) -> int:
    """Earned points besides a purchase's (an action, a referral): available from `earned_at` in
    a lot of their own expiring as `expiry` dates it, as an `earn` entry (under `rolling` it
    pushes the member's other points too); returns the entry's id. A member flagged for review
    gets them pending, held until the review (abuse/)."""
    held = await under_review(conn, member_id)
    lot_id = await add_lot(
        conn,
        member_id=member_id,
        points=points,
        earned_at=earned_at,
        expires_at=expiry.expires_at(earned_at),
        origin=origin,
        held=held,
    )
    return await move(
        conn,
        Movement(
            member_id=member_id,
            kind="earn",
            actor=actor,
            occurred_at=earned_at,
            available_delta=0 if held else points,
            pending_delta=points if held else 0,
            lifetime_delta=points,
            lot_id=lot_id,
            cause_event_id=cause_event_id,
            details=details,
        ),
        expiry=expiry,
    )


async def push_expiries(
    conn: Connection,
    expiry: LotExpiry,
    activity: Sequence[tuple[str, datetime]],
    *,
    now: datetime,
) -> None:
    """Under `rolling`, each (member, time) of `activity` (an earning or a spending, at the time
    it took effect) moves every lot of the member that still holds points and has expired
    neither by that time nor by `now` to the expiry `expiry` dates from that time, never to an
    earlier one; such a lot is warned of its new expiry again. Under other policies, nothing."""
    if not expiry.rolls or not activity:
        return
    await conn.execute(
        """
        WITH pushed AS (
            SELECT l.id, max(a.until) AS until
            FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[])
                 AS a (member_id, at, until)
            JOIN points_lot l ON l.member_id = a.member_id AND l.remaining > 0
                             AND l.expires_at > greatest(a.at, $4) AND l.expires_at < a.until
            GROUP BY l.id
        )
        UPDATE points_lot l SET expires_at = pushed.until, expiry_notice_at = NULL
        FROM pushed WHERE l.id = pushed.id
        """,
        [member_id for member_id, _ in activity],
        [at for _, at in activity],
        [expiry.expires_at(at) for _, at in activity],
        now,
    )


async def add_lot(
    conn: Connection,
    *,
    member_id: str,
    points: int,
    earned_at: datetime,
    expires_at: datetime,
    origin: str,
    held: bool = False,
) -> int:
    """A lot available from `earned_at` (a grant); `move` then makes it repay any debt. `held`:
    pending instead, under review until its member's flag is reviewed."""
    lot_id: int = await conn.fetchval(
        """
        INSERT INTO points_lot (member_id, points, remaining, status, available_at, expires_at,
                                origin, earned_at, under_review)
        VALUES ($1, $2, $2, CASE WHEN $6 THEN 'pending' ELSE 'available' END, $3, $4, $5, $3,
                $6)
        RETURNING id
        """,
        member_id,
        points,
        earned_at,
        expires_at,
        origin,
        held,
    )
    return lot_id


async def under_review(conn: Connection, member_id: str) -> bool:
    """Whether the member has a flag open (abuse/): what they earn is held until its review."""
    flagged: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM member_flag WHERE member_id = $1 AND status = 'open')",
        member_id,
    )
    return flagged
