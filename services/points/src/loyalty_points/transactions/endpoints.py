"""GET /v1/members/{member_id}/points/transactions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_points.ledger.settlement import settle_if_due
from loyalty_points.state import State
from loyalty_points.transactions import repository
from loyalty_points.transactions.schemas import Cause, Transaction, TransactionPage
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.events.fields import Rfc3339Time
from loyalty_shared.http import db
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/points", tags=["points"])


@router.get(
    "/transactions",
    summary="Ledger entries, newest first, cursor-paged",
    description=(
        "Entries newest first (by when they were recorded), each with when it took effect "
        "(`occurred_at`: the purchase's time, the end of its return window, its expiry, the "
        "spend) and when it was recorded. Maturities and expiries that time has already decided "
        "are listed even if no job has run since. `from` and `to` keep the entries that took "
        "effect in [from, to)."
    ),
    responses=problem_responses(401, 403, 422),
)
async def list_transactions(
    member_id: str,
    _: AuditedMemberRead,
    conn: db.Transaction,
    state: State,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: PageCursor = None,
    from_: Annotated[
        Rfc3339Time | None,
        Query(alias="from", description="Entries that took effect at or after this time"),
    ] = None,
    to: Annotated[
        Rfc3339Time | None, Query(description="Entries that took effect before this time")
    ] = None,
) -> TransactionPage:
    await settle_if_due(conn, member_id, state.clock())
    rows = await repository.page(
        conn,
        member_id,
        before_id=before_id(cursor),
        limit=limit + 1,
        occurred_from=from_,
        occurred_to=to,
    )
    items = [
        Transaction(
            id=r.id,
            type=r.kind,
            points=r.available_delta + r.pending_delta + r.held_delta,
            available_delta=r.available_delta,
            pending_delta=r.pending_delta,
            held_delta=r.held_delta,
            cause=Cause(
                event_id=r.cause_event_id,
                order_id=r.order_id,
                redemption_id=r.redemption_id,
                hold_id=r.hold_id,
                actor=r.actor,
            ),
            occurred_at=r.occurred_at,
            recorded_at=r.recorded_at,
            details=r.details,
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return TransactionPage(items=items, next_cursor=str(items[-1].id) if more else None)
