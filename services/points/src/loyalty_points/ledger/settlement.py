"""What time decides, written down: a checkout hold whose time has run out gives its points
back, a pending lot whose return window has ended becomes available, an available lot whose
expiry has come expires. Settling a member writes each such happening at the time it happened
(ledger entry, lot, balances, `points.matured` / `points.expired`), so every read and spend sees
the balance time says, never the one the last job run left. The scheduled job settles whoever is
due; everything else settles the member it is about to read or move first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from loyalty_points.events import emit
from loyalty_points.ledger.repository import Movement, available, lock_accounts, move
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import PointsExpiredV1, PointsMaturedV1

HOLD_EXPIRY = "system:hold-expiry"


@dataclass(slots=True)
class _Lot:
    id: int
    member_id: str
    order_id: str | None
    status: Literal["pending", "available"]
    remaining: int
    available_at: datetime
    expires_at: datetime
    #: the latest time points came back to it (a cancelled spend): it cannot expire before
    returned_at: datetime | None
    #: held for the review of its member's flag (abuse/): it does not mature meanwhile
    under_review: bool


@dataclass(frozen=True, slots=True)
class _Entry:
    member_id: str
    kind: Literal["mature", "expire"]
    lot: _Lot
    at: datetime
    available_delta: int
    pending_delta: int
    #: points the entry took from the lot (an expiry; a debt repaid at maturity)
    taken: int


async def settle(
    conn: Connection,
    member_ids: Sequence[str],
    now: datetime,
) -> None:
    """Write down what is due by `now` for these members, whose accounts the caller has locked."""
    if not member_ids:
        return
    await _release_holds_run_out(conn, member_ids, now)
    lots = [
        _Lot(**dict(row))
        for row in await conn.fetch(
            """
            SELECT l.id, l.member_id, l.order_id, l.status, l.remaining, l.available_at,
                   l.expires_at, l.under_review,
                   (SELECT max(e.occurred_at) FROM lot_allocation a
                    JOIN ledger_entry e ON e.id = a.ledger_entry_id
                    WHERE a.lot_id = l.id AND a.points < 0) AS returned_at
            FROM points_lot l
            WHERE l.member_id = ANY($1::text[])
              AND ((l.status = 'pending' AND l.available_at <= $2 AND NOT l.under_review)
                   OR (l.remaining > 0 AND l.expires_at <= $2))
            ORDER BY l.id
            FOR UPDATE OF l
            """,
            list(member_ids),
            now,
        )
    ]
    if not lots:
        return
    balances = await conn.fetch(
        "SELECT member_id, available FROM points_account WHERE member_id = ANY($1::text[])",
        list({lot.member_id for lot in lots}),
    )
    entries: list[_Entry] = []
    for row in balances:
        member_lots = [lot for lot in lots if lot.member_id == row["member_id"]]
        entries += _happen(member_lots, row["available"], now)
    await _write(conn, lots, entries)


async def _release_holds_run_out(
    conn: Connection, member_ids: Sequence[str], now: datetime
) -> None:
    """Holds whose time has run out give their points back to their lots, as of that time."""
    for hold in await conn.fetch(
        """
        SELECT h.id, h.member_id, h.points, h.expires_at, e.id AS entry_id
        FROM points_hold h JOIN ledger_entry e ON e.hold_id = h.id AND e.kind = 'hold'
        WHERE h.member_id = ANY($1::text[]) AND h.status = 'active' AND h.expires_at <= $2
        ORDER BY h.member_id, h.expires_at, h.id
        FOR UPDATE OF h
        """,
        list(member_ids),
        now,
    ):
        await move(
            conn,
            Movement(
                member_id=hold["member_id"],
                kind="hold_release",
                actor=HOLD_EXPIRY,
                occurred_at=hold["expires_at"],
                available_delta=hold["points"],
                held_delta=-hold["points"],
                hold_id=hold["id"],
            ),
            returning_from=[hold["entry_id"]],
        )
        await conn.execute(
            """
            UPDATE points_hold SET status = 'expired', settled_at = expires_at, settled_by = $2
            WHERE id = $1
            """,
            hold["id"],
            HOLD_EXPIRY,
        )


def _happen(lots: list[_Lot], balance: int, now: datetime) -> list[_Entry]:
    """One member's due lots, maturing and expiring in the order time says: their entries."""
    entries: list[_Entry] = []
    happenings: list[tuple[datetime, int, _Lot]] = []
    for lot in lots:
        if lot.status == "pending" and lot.available_at <= now and not lot.under_review:
            happenings.append((lot.available_at, 0, lot))
        if lot.expires_at <= now:
            at = max(lot.expires_at, lot.returned_at or lot.expires_at)
            happenings.append((min(at, now), 1, lot))
    for at, step, lot in sorted(happenings, key=lambda h: (h[0], h[1], h[2].id)):
        points = lot.remaining
        if step == 0:
            lot.status = "available"
            if points == 0:
                continue
            repaid = min(points, max(0, -balance))
            balance += points
            lot.remaining -= repaid
            entries.append(_Entry(lot.member_id, "mature", lot, at, points, -points, repaid))
        elif points > 0:
            lot.remaining = 0
            pending = lot.status == "pending"  # only if a program's window outlasts its expiry
            if not pending:
                balance -= points
            entries.append(
                _Entry(
                    lot.member_id,
                    "expire",
                    lot,
                    at,
                    0 if pending else -points,
                    -points if pending else 0,
                    points,
                )
            )
    return entries


async def _write(conn: Connection, lots: Sequence[_Lot], entries: Sequence[_Entry]) -> None:
    rows = await conn.fetch(
        """
        INSERT INTO ledger_entry (member_id, kind, available_delta, pending_delta, order_id,
                                  lot_id, actor, occurred_at)
        SELECT member_id, kind, available_delta, pending_delta, order_id, lot_id,
               CASE kind WHEN 'mature' THEN 'system:maturation' ELSE 'system:expiry' END, at
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[],
                    $7::timestamptz[])
             WITH ORDINALITY AS e (member_id, kind, available_delta, pending_delta, order_id,
                                   lot_id, at, n)
        ORDER BY n
        RETURNING id, lot_id, kind
        """,
        [e.member_id for e in entries],
        [e.kind for e in entries],
        [e.available_delta for e in entries],
        [e.pending_delta for e in entries],
        [e.lot.order_id for e in entries],
        [e.lot.id for e in entries],
        [e.at for e in entries],
    )
    entry_ids = {(row["lot_id"], row["kind"]): row["id"] for row in rows}
    taken = [e for e in entries if e.taken > 0]
    await conn.execute(
        """
        WITH lots AS (
            UPDATE points_lot l SET status = s.status, remaining = s.remaining
            FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS s (id, status, remaining)
            WHERE l.id = s.id
        ), accounts AS (
            UPDATE points_account a
               SET available = a.available + d.available, pending = a.pending + d.pending,
                   updated_at = now()
            FROM (SELECT member_id, sum(available) AS available, sum(pending) AS pending
                  FROM unnest($4::text[], $5::bigint[], $6::bigint[]) AS d (member_id, available,
                                                                           pending)
                  GROUP BY member_id) d
            WHERE a.member_id = d.member_id
        )
        INSERT INTO lot_allocation (ledger_entry_id, lot_id, points)
        SELECT * FROM unnest($7::bigint[], $8::bigint[], $9::bigint[])
        """,
        [lot.id for lot in lots],
        [lot.status for lot in lots],
        [lot.remaining for lot in lots],
        [e.member_id for e in entries],
        [e.available_delta for e in entries],
        [e.pending_delta for e in entries],
        [entry_ids[(e.lot.id, e.kind)] for e in taken],
        [e.lot.id for e in taken],
        [e.taken for e in taken],
    )
    await emit(
        conn,
        *(
            PointsMaturedV1(
                member_id=e.member_id,
                order_id=e.lot.order_id,
                points=-e.pending_delta,
                matured_at=e.at,
                causation_id=f"lot:{e.lot.id}:matured",
            )
            for e in entries
            if e.kind == "mature"
        ),
        *(
            PointsExpiredV1(
                member_id=e.member_id,
                order_id=e.lot.order_id,
                points=e.taken,
                expired_at=e.at,
                causation_id=f"lot:{e.lot.id}:expired",
            )
            for e in entries
            if e.kind == "expire"
        ),
    )


#: A member's lots that hold points time has decided about by `$2` (member `$1`).
DUE_POINTS = """
    SELECT EXISTS (SELECT 1 FROM points_lot
                   WHERE member_id = $1 AND remaining > 0
                     AND (expires_at <= $2
                          OR (status = 'pending' AND available_at <= $2 AND NOT under_review)))
        OR EXISTS (SELECT 1 FROM points_hold
                   WHERE member_id = $1 AND status = 'active' AND expires_at <= $2)
"""


async def settle_if_due(conn: Connection, member_id: str, now: datetime) -> None:
    """For a read: write down what is due for the member by `now`, if anything (and only then
    lock the account: reading a member never seen creates nothing)."""
    if await conn.fetchval(DUE_POINTS, member_id, now):
        await lock_accounts(conn, [member_id])
        await settle(conn, [member_id], now)


async def open_account(conn: Connection, member_id: str, now: datetime) -> int:
    """Lock the member's balance for this transaction, settle what is due by `now`, and return
    what is available: what every change to a member's points starts with."""
    await lock_accounts(conn, [member_id])
    await settle(conn, [member_id], now)
    return await available(conn, member_id) or 0


async def settle_due(conn: Connection, now: datetime, *, limit: int, wait: bool = False) -> int:
    """A batch of up to `limit` members with something due, settled; returns how many members.
    The scheduled job skips members whose account someone holds (a request settling its member
    now does it there); with `wait`, they are waited for (a report must count everyone)."""
    members = [
        row["member_id"]
        for row in await conn.fetch(
            f"""
            WITH due AS (
                SELECT DISTINCT member_id FROM (
                    (SELECT member_id FROM points_lot
                     WHERE status = 'pending' AND available_at <= $1 AND NOT under_review
                     LIMIT $2)
                    UNION ALL
                    (SELECT member_id FROM points_lot
                     WHERE remaining > 0 AND expires_at <= $1 LIMIT $2)
                    UNION ALL
                    (SELECT member_id FROM points_hold
                     WHERE status = 'active' AND expires_at <= $1 LIMIT $2)
                ) d
            )
            SELECT a.member_id FROM points_account a JOIN due USING (member_id)
            ORDER BY a.member_id LIMIT $2
            FOR UPDATE OF a {"" if wait else "SKIP LOCKED"}
            """,
            now,
            limit,
        )
    ]
    await settle(conn, members, now)
    return len(members)
