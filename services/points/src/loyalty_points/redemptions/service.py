"""Spending points: at most what is available, once per Idempotency-Key, oldest points first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

import asyncpg

from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.redemptions import repository
from loyalty_points.redemptions.errors import (
    RedemptionNotFound,
)
from loyalty_points.redemptions.idempotency import request_hash, stored_or_locked
from loyalty_points.redemptions.schemas import Redemption, RedemptionCreate
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import PointsRedeemedV1
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)


def _view(row: asyncpg.Record) -> Redemption:
    return Redemption(
        id=row["id"],
        member_id=row["member_id"],
        points=row["points"],
        reward=row["reward"],
        status=row["status"],
        created_at=row["created_at"],
        cancelled_at=row["cancelled_at"],
    )


async def redeem(
    conn: Connection, *, member_id: str, key: str, request: RedemptionCreate, actor: str
) -> Redemption:
    digest = request_hash(request)
    stored = await stored_or_locked(
        conn,
        kind="redemption",
        member_id=member_id,
        key=key,
        digest=digest,
        points=request.points,
        find=repository.by_key,
    )
    if stored is not None:
        return _view(stored)
    redemption_id = uuid.uuid4()
    row = await repository.insert(
        conn,
        redemption_id=redemption_id,
        member_id=member_id,
        key=key,
        request_hash=digest,
        points=request.points,
        reward=request.reward,
    )
    entry_id = await ledger.record(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="redeem",
            actor=actor,
            occurred_at=row["created_at"],
            available_delta=-request.points,
            redemption_id=redemption_id,
            details={"reward": request.reward, "idempotency_key": key},
        ),
    )
    taken = await ledger.take_from_lots(
        conn, member_id=member_id, points=request.points, entry_id=entry_id
    )
    if taken < request.points:
        log.error(
            "lots hold less than available", member_id=member_id, short=request.points - taken
        )
    await emit_redeemed(conn, row, status="completed")
    return _view(row)


async def cancel(
    conn: Connection, *, member_id: str, redemption_id: UUID, actor: str
) -> Redemption:
    """Points go back to the lots they came from, with their original expiry."""
    await ledger.lock_account(conn, member_id)
    row = await repository.by_id(conn, member_id, redemption_id)
    if row is None:
        raise RedemptionNotFound(f"member {member_id} has no redemption {redemption_id}")
    if row["status"] == "cancelled":
        return _view(row)
    entry_id = await repository.redeem_entry(conn, redemption_id)
    await ledger.return_to_lots(conn, entry_id=entry_id)
    await ledger.record(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="redeem_cancel",
            actor=actor,
            occurred_at=datetime.now(UTC),
            available_delta=row["points"],
            redemption_id=redemption_id,
        ),
    )
    row = await repository.mark_cancelled(conn, redemption_id, actor)
    await emit_redeemed(conn, row, status="cancelled")
    return _view(row)


async def emit_redeemed(
    conn: Connection, redemption: asyncpg.Record, *, status: Literal["completed", "cancelled"]
) -> None:
    """`points.redeemed` for a redemption row: once when it completes (from a request or a
    committed hold) and once more if it is cancelled, each with its own derived id."""
    redemption_id = str(redemption["id"])
    await emit(
        conn,
        PointsRedeemedV1(
            member_id=redemption["member_id"],
            redemption_id=redemption_id,
            points=redemption["points"],
            reward=redemption["reward"],
            status=status,
            causation_id=redemption_id if status == "completed" else f"{redemption_id}:{status}",
        ),
    )
