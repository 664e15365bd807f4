"""GET /v1/members/{member_id}/points."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from loyalty_points.balances import repository
from loyalty_points.balances.repository import Balance
from loyalty_points.balances.schemas import ExpiringPoints, PointsBalance
from loyalty_points.ledger.settlement import settle_if_due
from loyalty_points.state import State
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.clock import Clock
from loyalty_shared.db import Pool
from loyalty_shared.events.fields import Rfc3339Time
from loyalty_shared.http.db import SingleStatement
from loyalty_shared.http.hot_reads import HotRead
from loyalty_shared.http.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1/members/{member_id}", tags=["points"])
PATH = "/points"


class TimeInTheFuture(ProblemError):
    status = 422
    title = "A time still to come"
    type = "urn:loyalty:problem:time-in-the-future"


@router.get(
    PATH,
    response_model=PointsBalance,
    response_model_exclude_none=True,
    summary="A member's points balance",
    description=(
        "A member never seen has zeros, not 404. Time decides, not when a job last ran: points "
        "past their expiry are never counted, pending points whose return window has ended are "
        "available. `expiring` lists the available points by expiry and adds up to `available` "
        "(it is empty while `available` is zero or negative: new points repay the debt first). "
        "With `as_of`, the balance at that business time; with `as_recorded_at`, the balances "
        "as the ledger had recorded them by then (what the platform showed)."
    ),
    responses=problem_responses(401, 403, 422),
)
async def get_points(
    member_id: str,
    _: AuditedMemberRead,
    pool: SingleStatement,
    state: State,
    as_of: Annotated[
        Rfc3339Time | None,
        Query(
            description="The balance at this business time: every purchase, maturity, expiry, "
            "refund and spend counted by when it took effect"
        ),
    ] = None,
    as_recorded_at: Annotated[
        Rfc3339Time | None,
        Query(description="The balances as the ledger had recorded them by this time"),
    ] = None,
) -> PointsBalance | Response:
    now = state.clock()
    if as_of is not None or as_recorded_at is not None:
        async with pool.acquire() as db, db.transaction():
            at = _past(as_of or as_recorded_at, now)
            if as_of is not None:
                await settle_if_due(db, member_id, now)
                then = await repository.balance_at(db, member_id, at)
            else:
                then = await repository.balance_recorded_by(db, member_id, at)
        return _document(member_id, then, as_of=as_of, as_recorded_at=as_recorded_at)
    return Response(await _balance_document(pool, member_id, now), media_type="application/json")


def _past(at: datetime | None, now: datetime) -> datetime:
    assert at is not None
    if at > now:
        raise TimeInTheFuture(f"{at.isoformat()} has not come yet")
    return at


def _document(member_id: str, balance: Balance, **at: datetime | None) -> PointsBalance:
    return PointsBalance(
        member_id=member_id,
        available=balance.available,
        pending=balance.pending,
        held=balance.held,
        lifetime_earned=balance.lifetime_earned,
        expiring=[ExpiringPoints.model_validate(e) for e in balance.expiring],
        **at,
    )


async def _balance_document(pool: Pool, member_id: str, now: datetime) -> bytes:
    """The balance document, the same bytes whether the route or the hot read answers."""
    balance = _document(member_id, await repository.balance(pool, member_id, now))
    return PointsBalance.__pydantic_serializer__.to_json(balance, exclude_none=True)


def hot_read(clock: Clock) -> HotRead:
    """The app's most frequent request: `GET` of a balance without a query, answered before
    FastAPI (see loyalty_shared.http.hot_reads); everything else about it is the route above."""

    async def answer(pool: Pool, member_id: str) -> bytes:
        return await _balance_document(pool, member_id, clock())

    return HotRead(path=f"{router.prefix}{PATH}", answer=answer)
