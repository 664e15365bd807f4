"""Checkout holds: reserve points for a basket, then commit them (a redemption) or release them.

A hold takes its points out of `available` into `held` at once, from the soonest-expiring lots,
under the same account lock as every spend, so two open carts can never both spend the same
points. Committing turns the hold into a redemption without touching `available` again;
releasing, or the hold's time running out (ledger/settlement.py), gives the points back to their
lots (points of a lot that expired meanwhile expire then). Every step is a ledger entry.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from uuid import UUID

from loyalty_points.holds import repository
from loyalty_points.holds.errors import HoldSettled
from loyalty_points.holds.repository import HoldRow
from loyalty_points.holds.schemas import Hold, HoldCreate
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import open_account, settle
from loyalty_points.redemptions import service as redemptions
from loyalty_points.spending.errors import SpendNotFound
from loyalty_points.spending.service import request_hash, stored_or_opened
from loyalty_shared.db import Connection


def view(row: HoldRow) -> Hold:
    return Hold(
        id=row.id,
        member_id=row.member_id,
        points=row.points,
        reference=row.reference,
        status=row.status,
        expires_at=row.expires_at,
        created_at=row.created_at,
        settled_at=row.settled_at,
        redemption_id=row.redemption_id,
    )


async def reserve(
    conn: Connection,
    *,
    member_id: str,
    key: str,
    request: HoldCreate,
    actor: str,
    expiry: LotExpiry,
    now: datetime,
) -> Hold:
    """`expiry`: the program's (`rolling`: the hold pushes the member's points' expiry)."""
    digest = request_hash(request)
    stored = await stored_or_opened(
        conn,
        kind="hold",
        member_id=member_id,
        key=key,
        digest=digest,
        points=request.points,
        now=now,
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
        expires_at=now + timedelta(seconds=request.ttl_seconds),
        now=now,
    )
    await ledger.move(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="hold",
            actor=actor,
            occurred_at=now,
            available_delta=-request.points,
            held_delta=request.points,
            hold_id=row.id,
            details={"reference": request.reference, "idempotency_key": key},
        ),
        expiry=expiry,
    )
    return view(row)


async def _active(conn: Connection, member_id: str, hold_id: UUID, now: datetime) -> HoldRow:
    await open_account(conn, member_id, now)
    row = await repository.by_id(conn, member_id, hold_id, for_update=True)
    if row is None:
        raise SpendNotFound(f"member {member_id} has no hold {hold_id}")
    return row


async def commit(
    conn: Connection,
    *,
    member_id: str,
    hold_id: UUID,
    actor: str,
    expiry: LotExpiry,
    now: datetime,
) -> Hold:
    """Spend the held points; committing twice answers the same. `expiry`: as for `reserve`."""
    row = await _active(conn, member_id, hold_id, now)
    if row.status == "committed":
        return view(row)
    if row.status != "active":
        raise HoldSettled(f"hold {hold_id} was {row.status}; reserve the points again")
    if row.expires_at <= now:
        raise HoldSettled(f"hold {hold_id} ran out at {row.expires_at:%Y-%m-%dT%H:%M:%SZ}")
    redemption = await redemptions.complete(
        conn,
        redemption_id=uuid.uuid4(),
        member_id=member_id,
        key=f"hold:{hold_id}",
        request_hash=row.request_hash,
        points=row.points,
        reward=row.reference,
        details={"reward": row.reference, "hold_id": str(hold_id)},
        actor=actor,
        expiry=expiry,
        now=now,
        hold_id=hold_id,
    )
    row = await repository.settle(
        conn, hold_id, status="committed", actor=actor, at=now, redemption_id=redemption.id
    )
    return view(row)


async def release(
    conn: Connection, *, member_id: str, hold_id: UUID, actor: str, now: datetime
) -> Hold:
    """Give the points back to their lots (points of a lot whose expiry has passed expire
    then); releasing twice, or a hold that ran out, answers the same."""
    row = await _active(conn, member_id, hold_id, now)
    if row.status in ("released", "expired"):
        return view(row)
    if row.status == "committed":
        raise HoldSettled(f"hold {hold_id} was committed; cancel the redemption instead")
    await ledger.move(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="hold_release",
            actor=actor,
            occurred_at=now,
            available_delta=row.points,
            held_delta=-row.points,
            hold_id=hold_id,
        ),
        returning_from=[await repository.hold_entry(conn, hold_id)],
    )
    await settle(conn, [member_id], now)
    return view(await repository.settle(conn, hold_id, status="released", actor=actor, at=now))
