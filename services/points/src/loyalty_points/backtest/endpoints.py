"""POST /v1/program/backtest (marketing or admin)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Request

from loyalty_points.backtest.schemas import Backtest, BacktestRequest, TierFigures
from loyalty_points.backtest.service import replay
from loyalty_points.reports import repository as reports
from loyalty_points.reports.service import BREAKAGE_WINDOW, breakage_rate, money
from loyalty_points.state import State
from loyalty_shared.http.auth import MarketingAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1/program", tags=["program"])


class BacktestBusy(ProblemError):
    status = 429
    title = "A backtest is running"
    type = "urn:loyalty:problem:backtest-busy"


class BacktestTimedOut(ProblemError):
    status = 503
    title = "The backtest took too long"
    type = "urn:loyalty:problem:backtest-timed-out"


@router.post(
    "/backtest",
    summary="What the purchases of the last days would have earned under another program",
    description=(
        "Earns the stored purchases whose `time` is in the last `days` days again under the "
        "candidate program, at the tier each earned at, by the rules the consumer runs, and "
        "writes nothing: the same program as `GET /v1/program` answers gives what was "
        "credited (as long as no campaign was started or ended at run time in those days). "
        "One backtest at a time per replica (429 meanwhile); one that runs past "
        "`LOYALTY_POINTS_BACKTEST_TIMEOUT_S` stops (503: ask for fewer days); one whose client "
        "goes away stops after the batch in hand. What it assumes: docs/finance.md#backtests."
    ),
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def backtest(
    body: BacktestRequest, _: MarketingAccess, conn: ReadOnly, state: State, request: Request
) -> Backtest:
    if state.backtest_slot.locked():
        raise BacktestBusy("another backtest is running on this replica; try again shortly")
    until = state.clock()
    since = until - timedelta(days=body.days)
    async with state.backtest_slot:
        try:
            async with asyncio.timeout(state.backtest_timeout_s):
                result = await replay(
                    conn,
                    body.program,
                    since=since,
                    until=until,
                    client_gone=request.is_disconnected,
                )
        except TimeoutError:
            raise BacktestTimedOut(
                f"stopped after {state.backtest_timeout_s:g} s; backtest fewer days"
            ) from None
        rate = breakage_rate(await reports.spent(conn, until - BREAKAGE_WINDOW, until))
    return Backtest(
        since=since,
        until=until,
        purchases=result.purchases,
        points_current=result.current,
        points_candidate=result.candidate,
        by_tier={
            tier: TierFigures(
                purchases=t.purchases, points_current=t.current, points_candidate=t.candidate
            )
            for tier, t in sorted(result.by_tier.items())
        },
        liability_added=str(money(result.net_added * body.program.point_value * (1 - rate))),
        purchases_without_categories=result.without_categories,
    )
