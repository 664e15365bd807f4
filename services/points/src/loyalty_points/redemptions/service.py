"""Spending points: at most what is available, once per Idempotency-Key, soonest to expire first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import open_account, settle
from loyalty_points.redemptions import repository
from loyalty_points.redemptions.repository import RedemptionRow
from loyalty_points.redemptions.schemas import Redemption, RedemptionCreate
from loyalty_points.spending.errors import SpendNotFound
from loyalty_points.spending.service import request_hash, stored_or_opened
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import PointsRedeemedV1


def view(row: RedemptionRow) -> Redemption:
    return Redemption(
        id=row.id,
        member_id=row.member_id,
        points=row.points,
        reward=row.reward,
        status=row.status,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
    )


async def redeem(
    conn: Connection,
    *,
    member_id: str,
    key: str,
    request: RedemptionCreate,
    actor: str,
    expiry: LotExpiry,
    now: datetime,
) -> Redemption:
    """`expiry`: the program's (`rolling`: the spend pushes the member's points' expiry)."""
    digest = request_hash(request)
    stored = await stored_or_opened(
        conn,
        kind="redemption",
        member_id=member_id,
        key=key,
        digest=digest,
        points=request.points,
        now=now,
        find=repository.by_key,
    )
    if stored is not None:
        return view(stored)
    row = await complete(
        conn,
        redemption_id=uuid.uuid4(),
        member_id=member_id,
        key=key,
        request_hash=digest,
        points=request.points,
        reward=request.reward,
        details={"reward": request.reward, "idempotency_key": key},
        actor=actor,
        expiry=expiry,
        now=now,
    )
    return view(row)


async def complete(
    conn: Connection,
    *,
    redemption_id: UUID,
    member_id: str,
    key: str,
    request_hash: str,
    points: int,
    reward: str | None,
    details: dict[str, Any],
    actor: str,
    expiry: LotExpiry,
    now: datetime,
    hold_id: UUID | None = None,
) -> RedemptionRow:
    """A completed redemption (of a request, a committed hold or a reward): its row, the ledger
    entry spending its `points` out of `available` (or out of `held`, hold `hold_id`'s), and
    `points.redeemed`. The caller opened the member's account and checked the points are there."""
    held = hold_id is not None
    row = await repository.insert(
        conn,
        redemption_id=redemption_id,
        member_id=member_id,
        key=key,
        request_hash=request_hash,
        points=points,
        reward=reward,
        now=now,
    )
    await ledger.move(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="redeem",
            actor=actor,
            occurred_at=now,
            available_delta=0 if held else -points,
            held_delta=-points if held else 0,
            redemption_id=redemption_id,
            hold_id=hold_id,
            details=details,
        ),
        expiry=expiry,
    )
    await emit_redeemed(conn, row, status="completed")
    return row


async def cancel(
    conn: Connection, *, member_id: str, redemption_id: UUID, actor: str, now: datetime
) -> Redemption:
    """Points go back to the lots they came from, with their original expiry (those whose expiry
    has passed expire at once)."""
    await open_account(conn, member_id, now)
    row = await repository.by_id(conn, member_id, redemption_id)
    if row is None:
        raise SpendNotFound(f"member {member_id} has no redemption {redemption_id}")
    if row.status == "cancelled":
        return view(row)
    await ledger.move(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="redeem_cancel",
            actor=actor,
            occurred_at=now,
            available_delta=row.points,
            redemption_id=redemption_id,
        ),
        returning_from=await repository.spending_entries(conn, redemption_id),
    )
    await settle(conn, [member_id], now)
    row = await repository.mark_cancelled(conn, redemption_id, actor, now)
    await emit_redeemed(conn, row, status="cancelled")
    return view(row)


async def emit_redeemed(
    conn: Connection, redemption: RedemptionRow, *, status: Literal["completed", "cancelled"]
) -> None:
    """`points.redeemed` for a redemption: once when it completes (from a request or a committed
    hold) and once more if it is cancelled, each with its own derived id."""
    redemption_id = str(redemption.id)
    await emit(
        conn,
        PointsRedeemedV1(
            member_id=redemption.member_id,
            redemption_id=redemption_id,
            points=redemption.points,
            reward=redemption.reward,
            status=status,
            causation_id=redemption_id if status == "completed" else f"{redemption_id}:{status}",
        ),
    )
