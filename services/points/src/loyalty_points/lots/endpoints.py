"""GET /v1/members/{member_id}/points/lots: the lots behind a balance (the member, support)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_points.ledger.settlement import settle_if_due
from loyalty_points.lots import repository
from loyalty_points.lots.schemas import Lot, LotList
from loyalty_points.state import State
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http import db
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/points", tags=["points"])


@router.get(
    "/lots",
    summary="The lots with points left, soonest expiry first",
    description=(
        "Each purchase (or grant) credits a lot; spending takes the oldest points first and "
        "each lot expires on its own date. Maturities and expiries that time has decided are "
        "applied first, as for the balance."
    ),
    responses=problem_responses(401, 403),
)
async def list_lots(
    member_id: str,
    _: AuditedMemberRead,
    conn: db.Transaction,
    state: State,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> LotList:
    await settle_if_due(conn, member_id, state.clock())
    lots = await repository.open_lots(conn, member_id, limit)
    return LotList(
        member_id=member_id, items=[Lot.model_validate(lot, from_attributes=True) for lot in lots]
    )
