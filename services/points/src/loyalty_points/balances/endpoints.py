"""GET /v1/members/{member_id}/points."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from loyalty_points.balances import repository
from loyalty_points.balances.schemas import PointsBalance
from loyalty_shared.db import Pool
from loyalty_shared.events.fields import Rfc3339Time
from loyalty_shared.http.auth import MemberAccess
from loyalty_shared.http.db import SingleStatement
from loyalty_shared.http.hot_reads import HotRead
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}", tags=["points"])
PATH = "/points"


@router.get(
    PATH,
    response_model=PointsBalance,
    response_model_exclude_none=True,
    summary="A member's points balance",
    description=(
        "A member never seen has zeros, not 404. With `as_of`, the balances as the ledger had "
        "recorded them at that time, so a dispute can be answered from the API alone."
    ),
    responses=problem_responses(401, 403),
)
async def get_points(
    member_id: str,
    _: MemberAccess,
    conn: SingleStatement,
    as_of: Annotated[
        Rfc3339Time | None,
        Query(description="Answer with the balances the ledger had recorded at this time"),
    ] = None,
) -> PointsBalance | Response:
    if as_of is not None:
        then = await repository.balance_as_of(conn, member_id, as_of)
        return PointsBalance(member_id=member_id, expiring=[], as_of=as_of, **dict(then))
    return Response(await _balance_document(conn, member_id), media_type="application/json")


async def _balance_document(pool: Pool, member_id: str) -> bytes:
    """The balance document, the same bytes whether the route or the hot read answers."""
    balance = PointsBalance(member_id=member_id, **dict(await repository.balance(pool, member_id)))
    return PointsBalance.__pydantic_serializer__.to_json(balance, exclude_none=True)


#: The app's most frequent request: `GET` of a balance, without `as_of`, answered before FastAPI
#: (see loyalty_shared.http.hot_reads); everything else about it is the route above.
hot_read = HotRead(path=f"{router.prefix}{PATH}", answer=_balance_document)
