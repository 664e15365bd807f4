"""GET /v1/members/{member_id}/points/transactions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_points.transactions import repository
from loyalty_points.transactions.schemas import Cause, Transaction, TransactionPage
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/points", tags=["points"])


@router.get(
    "/transactions",
    summary="Ledger entries, newest first, cursor-paged",
    responses=problem_responses(401, 403),
)
async def list_transactions(
    member_id: str,
    _: AuditedMemberRead,
    conn: ReadOnly,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: PageCursor = None,
) -> TransactionPage:
    rows = await repository.page(conn, member_id, before_id=before_id(cursor), limit=limit + 1)
    items = [
        Transaction(
            id=r["id"],
            type=r["kind"],
            points=r["available_delta"] + r["pending_delta"] + r["held_delta"],
            available_delta=r["available_delta"],
            pending_delta=r["pending_delta"],
            held_delta=r["held_delta"],
            cause=Cause(
                event_id=r["cause_event_id"],
                order_id=r["order_id"],
                redemption_id=r["redemption_id"],
                hold_id=r["hold_id"],
                actor=r["actor"],
            ),
            occurred_at=r["occurred_at"],
            recorded_at=r["recorded_at"],
            details=r["details"],
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return TransactionPage(items=items, next_cursor=str(items[-1].id) if more else None)
