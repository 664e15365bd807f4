"""Adjusting a balance by hand: a grant becomes a lot that expires like earned points; a
deduction spends lots oldest first and may take `available` below zero (a correction must
be possible even when the points are gone). Both count in `lifetime_earned`."""

from __future__ import annotations

from datetime import datetime

from loyalty_points.adjustments.schemas import Adjustment, AdjustmentCreate
from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import open_account
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import PointsAdjustedV1
from loyalty_shared.program.schema import Program


async def adjust(
    conn: Connection,
    *,
    member_id: str,
    request: AdjustmentCreate,
    actor: str,
    program: Program,
    now: datetime,
    cause_event_id: str | None = None,
    details: dict[str, str] | None = None,
) -> Adjustment:
    """`cause_event_id` names the event that asked for it (a goodwill grant), if any."""
    await open_account(conn, member_id, now)
    expiry = LotExpiry.of(program)
    lot_id = None
    if request.points > 0:
        lot_id = await ledger.add_lot(
            conn,
            member_id=member_id,
            points=request.points,
            earned_at=now,
            expires_at=expiry.expires_at(now),
            origin="adjustment",
        )
    entry_id = await ledger.move(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="adjust",
            actor=actor,
            occurred_at=now,
            available_delta=request.points,
            lifetime_delta=request.points,
            lot_id=lot_id,
            cause_event_id=cause_event_id,
            details={"reason": request.reason, **(details or {})},
        ),
        expiry=expiry,
    )
    await emit(
        conn,
        PointsAdjustedV1(
            member_id=member_id,
            points=request.points,
            reason=request.reason,
            actor=actor,
            causation_id=cause_event_id or f"adjustment:{entry_id}",
        ),
    )
    return Adjustment(
        id=entry_id,
        member_id=member_id,
        points=request.points,
        reason=request.reason,
        actor=actor,
        created_at=now,
    )
