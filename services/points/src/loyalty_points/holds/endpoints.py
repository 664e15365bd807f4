"""Checkout holds: POST …/holds reserves, …/commit spends, …/release gives back."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from loyalty_points.holds import repository, service
from loyalty_points.holds.schemas import Hold, HoldCreate
from loyalty_points.ledger.settlement import settle_if_due
from loyalty_points.spending.errors import SpendNotFound
from loyalty_points.spending.http import IdempotencyKey, actor_of, required
from loyalty_points.state import State
from loyalty_shared import audit_log
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import MemberAccess, Principal
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/holds", tags=["holds"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Reserve points for a checkout",
    description=(
        "Takes the points out of `available` at once (another cart cannot spend them) until "
        "the hold is committed, released, or its `ttl_seconds` run out. `Idempotency-Key` is "
        "required: the same key and body answer the same hold; another body is 422."
    ),
    responses=problem_responses(400, 401, 403, 409, 422),
    operation_id="createHold",
)
async def reserve(
    member_id: str,
    body: HoldCreate,
    principal: MemberAccess,
    conn: Transaction,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> Hold:
    hold = await service.reserve(
        conn,
        member_id=member_id,
        key=required(idempotency_key),
        request=body,
        actor=actor_of(principal, member_id),
        expiry=state.expiry,
        now=state.clock(),
    )
    return await _recorded(conn, principal, "points.hold", hold)


@router.get(
    "/{hold_id}",
    summary="A hold",
    description="A hold whose time has run out is `expired` from that moment on.",
    responses=problem_responses(401, 403, 404),
)
async def get_hold(
    member_id: str, hold_id: UUID, _: AuditedMemberRead, conn: Transaction, state: State
) -> Hold:
    await settle_if_due(conn, member_id, state.clock())
    row = await repository.by_id(conn, member_id, hold_id)
    if row is None:
        raise SpendNotFound(f"member {member_id} has no hold {hold_id}")
    return service.view(row)


@router.post(
    "/{hold_id}/commit",
    summary="Spend the held points (a redemption)",
    description="Committing a committed hold answers the same; a released or expired one is 409.",
    responses=problem_responses(401, 403, 404, 409),
    operation_id="commitHold",
)
async def commit(
    member_id: str, hold_id: UUID, principal: MemberAccess, conn: Transaction, state: State
) -> Hold:
    hold = await service.commit(
        conn,
        member_id=member_id,
        hold_id=hold_id,
        actor=actor_of(principal, member_id),
        expiry=state.expiry,
        now=state.clock(),
    )
    return await _recorded(conn, principal, "points.hold_commit", hold)


@router.post(
    "/{hold_id}/release",
    summary="Give the held points back",
    description="Releasing twice answers the same; a committed hold is 409.",
    responses=problem_responses(401, 403, 404, 409),
    operation_id="releaseHold",
)
async def release(
    member_id: str, hold_id: UUID, principal: MemberAccess, conn: Transaction, state: State
) -> Hold:
    hold = await service.release(
        conn,
        member_id=member_id,
        hold_id=hold_id,
        actor=actor_of(principal, member_id),
        now=state.clock(),
    )
    return await _recorded(conn, principal, "points.hold_release", hold)


async def _recorded(conn: Connection, principal: Principal, action: str, hold: Hold) -> Hold:
    """The hold, once an operator's action on it is in the audit log."""
    await audit_log.record_operator(
        conn,
        principal=principal,
        action=action,
        member_id=hold.member_id,
        details={"hold_id": str(hold.id), "points": hold.points},
    )
    return hold
