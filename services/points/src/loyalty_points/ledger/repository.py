"""Moving points: every movement is a ledger entry plus the same change to the balances, in the
caller's transaction (crediting purchases does the same for a whole batch in one statement, in
earning/repository.py), so every balance stays the sum of its ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Movement:
    member_id: str
    kind: str  # earn, mature, reverse, redeem, redeem_cancel, expire, adjust, hold, hold_release
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


async def record(conn: Connection, movement: Movement) -> int:
    """Append the entry and apply it to the balances; returns the entry's id."""
    # The account exists first, then is updated: an upsert would check the balance constraints
    # against the deltas alone (a negative `pending` delta) before finding the row.
    await conn.execute(
        "INSERT INTO points_account (member_id) VALUES ($1) ON CONFLICT DO NOTHING",
        movement.member_id,
    )
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


async def lock_account(conn: Connection, member_id: str) -> int:
    """Lock the member's balance for this transaction (creating it at zero); returns `available`.

    Every spend takes this lock first, so two requests can never spend the same points.
    """
    await conn.execute(
        "INSERT INTO points_account (member_id) VALUES ($1) ON CONFLICT DO NOTHING", member_id
    )
    available: int = await conn.fetchval(
        "SELECT available FROM points_account WHERE member_id = $1 FOR UPDATE", member_id
    )
    return available


async def take_from_lots(conn: Connection, *, member_id: str, points: int, entry_id: int) -> int:
    """Spend `points` from the member's available lots, soonest to expire first, recording which
    lots gave what (so a cancellation can put them back). Returns how many the lots had."""
    lots = await conn.fetch(
        """
        SELECT id, remaining FROM points_lot
        WHERE member_id = $1 AND status = 'available' AND remaining > 0 AND expires_at > now()
        ORDER BY expires_at, id
        FOR UPDATE
        """,
        member_id,
    )
    taken: list[tuple[int, int]] = []
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot["remaining"])
        taken.append((lot["id"], take))
        left -= take
    if taken:
        await _allocate(conn, entry_id, taken)
    return points - left


async def _allocate(conn: Connection, entry_id: int, taken: Sequence[tuple[int, int]]) -> None:
    await conn.execute(
        """
        WITH t AS (SELECT * FROM unnest($2::bigint[], $3::bigint[]) AS t (lot_id, points)),
        lots AS (
            UPDATE points_lot l SET remaining = l.remaining - t.points FROM t WHERE l.id = t.lot_id
        )
        INSERT INTO lot_allocation (ledger_entry_id, lot_id, points)
        SELECT $1, lot_id, points FROM t
        """,
        entry_id,
        [lot_id for lot_id, _ in taken],
        [points for _, points in taken],
    )


async def move_allocation(conn: Connection, *, from_entry: int, to_entry: int) -> None:
    """The lots an entry took from now count as taken by another (a hold that became a
    redemption), so cancelling the latter puts them back."""
    await conn.execute(
        """
        WITH moved AS (
            DELETE FROM lot_allocation WHERE ledger_entry_id = $1 RETURNING lot_id, points
        )
        INSERT INTO lot_allocation (ledger_entry_id, lot_id, points)
        SELECT $2, lot_id, points FROM moved
        """,
        from_entry,
        to_entry,
    )


async def return_to_lots(conn: Connection, *, entry_id: int) -> int:
    """Put back what an entry took from its lots (their expiry unchanged); returns the points."""
    returned: int = await conn.fetchval(
        """
        WITH a AS (SELECT lot_id, points FROM lot_allocation WHERE ledger_entry_id = $1),
        lots AS (
            UPDATE points_lot l SET remaining = l.remaining + a.points FROM a WHERE l.id = a.lot_id
        )
        SELECT coalesce(sum(points), 0) FROM a
        """,
        entry_id,
    )
    return returned


async def add_lot(
    conn: Connection,
    *,
    member_id: str,
    points: int,
    available_at: datetime,
    expires_at: datetime,
    origin: str,
) -> int:
    lot_id: int = await conn.fetchval(
        """
        INSERT INTO points_lot (member_id, points, remaining, status, available_at, expires_at,
                                origin)
        VALUES ($1, $2, $2, 'available', $3, $4, $5)
        RETURNING id
        """,
        member_id,
        points,
        available_at,
        expires_at,
        origin,
    )
    return lot_id
