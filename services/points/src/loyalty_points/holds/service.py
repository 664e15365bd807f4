"""Checkout holds: reserve points for a basket, then commit them (a redemption) or release them.

A hold takes its points out of `available` into `held` at once, from the soonest-expiring lots,
under the same account lock as every spend, so two open carts can never both spend the same
points. Committing turns the hold into a redemption without touching `available` again;
releasing, or the hold's time running out, gives the points back to their lots (a lot that
expired meanwhile expires them at the next expiry run). Every step is a ledger entry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from loyalty_points.holds import repository
from loyalty_points.holds.errors import HoldNotFound, HoldSettled
from loyalty_points.holds.schemas import Hold, HoldCreate
from loyalty_points.ledger import repository as ledger
from loyalty_points.redemptions import repository as redemptions
from loyalty_points.redemptions.idempotency import request_hash, stored_or_locked
from loyalty_points.redemptions.service import emit_redeemed
from loyalty_shared.db import Connection


def view(row: asyncpg.Record) -> Hold:
    return Hold(**{k: v for k, v in dict(row).items() if k != "request_hash"})


async def reserve(
    conn: Connection, *, member_id: str, key: str, request: HoldCreate, actor: str
) -> Hold:
    digest = request_hash(request)
    stored = await stored_or_locked(
        conn,
        kind="hold",
        member_id=member_id,
        key=key,
        digest=digest,
        points=request.points,
        find=repository.by_key,
    )
    if stored is not None:
        return view(stored)
    row = await repository.insert(
        conn,
        hold_id=uuid.uuid4(),
        member_id=member_id,
        key=key,
        request_hash=digest,
        points=request.points,
        reference=request.reference,
        ttl_seconds=request.ttl_seconds,
    )
    entry_id = await ledger.record(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="hold",
            actor=actor,
            occurred_at=row["created_at"],
            available_delta=-request.points,
            held_delta=request.points,
            hold_id=row["id"],
            details={"reference": request.reference, "idempotency_key": key},
        ),
    )
    await ledger.take_from_lots(conn, member_id=member_id, points=request.points, entry_id=entry_id)
    return view(row)


async def _active(conn: Connection, member_id: str, hold_id: UUID) -> asyncpg.Record:
    await ledger.lock_account(conn, member_id)
    row = await repository.by_id(conn, member_id, hold_id, for_update=True)
    if row is None:
        raise HoldNotFound(f"member {member_id} has no hold {hold_id}")
    return row


async def commit(conn: Connection, *, member_id: str, hold_id: UUID, actor: str) -> Hold:
    """Spend the held points; committing twice answers the same."""
    row = await _active(conn, member_id, hold_id)
    if row["status"] == "committed":
        return view(row)
    if row["status"] != "active":
        raise HoldSettled(f"hold {hold_id} was {row['status']}; reserve the points again")
    if row["expires_at"] <= datetime.now(UTC):
        raise HoldSettled(f"hold {hold_id} ran out at {row['expires_at']:%Y-%m-%dT%H:%M:%SZ}")
    redemption = await redemptions.insert(
        conn,
        redemption_id=uuid.uuid4(),
        member_id=member_id,
        key=f"hold:{hold_id}",
        request_hash=row["request_hash"],
        points=row["points"],
        reward=row["reference"],
    )
    entry_id = await ledger.record(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="redeem",
            actor=actor,
            occurred_at=redemption["created_at"],
            held_delta=-row["points"],
            redemption_id=redemption["id"],
            hold_id=hold_id,
            details={"reward": row["reference"], "hold_id": str(hold_id)},
        ),
    )
    await ledger.move_allocation(
        conn, from_entry=await repository.hold_entry(conn, hold_id), to_entry=entry_id
    )
    row = await repository.settle(
        conn, hold_id, status="committed", actor=actor, redemption_id=redemption["id"]
    )
    await emit_redeemed(conn, redemption, status="completed")
    return view(row)


async def release(
    conn: Connection,
    *,
    member_id: str,
    hold_id: UUID,
    actor: str,
    now: datetime | None = None,
) -> Hold:
    """Give the points back to their lots. With `now`, only a hold whose time has run out is
    released (as `expired`): that is the expiry job. Releasing twice answers the same."""
    row = await _active(conn, member_id, hold_id)
    if row["status"] in ("released", "expired"):
        return view(row)
    if row["status"] == "committed":
        raise HoldSettled(f"hold {hold_id} was committed; cancel the redemption instead")
    if now is not None and row["expires_at"] > now:
        return view(row)
    await ledger.return_to_lots(conn, entry_id=await repository.hold_entry(conn, hold_id))
    await ledger.record(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="hold_release",
            actor=actor,
            occurred_at=row["expires_at"] if now is not None else datetime.now(UTC),
            available_delta=row["points"],
            held_delta=-row["points"],
            hold_id=hold_id,
        ),
    )
    status = "expired" if now is not None else "released"
    return view(await repository.settle(conn, hold_id, status=status, actor=actor))


async def release_expired(conn: Connection, *, now: datetime, limit: int) -> int:
    """The expiry job: holds whose time has run out give their points back."""
    rows = await repository.due(conn, now=now, limit=limit)
    for row in rows:
        await release(
            conn, member_id=row["member_id"], hold_id=row["id"], actor="system:hold-expiry", now=now
        )
    return len(rows)
