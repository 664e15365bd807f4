"""GET /v1/reports/liability (finance or admin)."""

from __future__ import annotations

from fastapi import APIRouter

from loyalty_points.reports.schemas import BreakageForecast, LiabilityReport, MonthExpiry
from loyalty_points.reports.service import liability
from loyalty_points.state import State
from loyalty_shared.http.auth import FinanceAccess
from loyalty_shared.http.db import SingleStatement
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/liability",
    summary="Outstanding points in money, breakage and what expires when (finance)",
    description=(
        "Every figure as time says at `as_of`: points whose return window ended or whose expiry "
        "came are counted as available or expired even if no job has written it down yet (the "
        "report writes it down first, as the job would). How each figure is made and when the "
        "forecast is wrong: docs/finance.md."
    ),
    responses=problem_responses(401, 403),
)
async def liability_report(
    _: FinanceAccess,
    pool: SingleStatement,  # settling takes a transaction per batch, the report one of its own
    state: State,
) -> LiabilityReport:
    report = await liability(pool, state.program, state.clock())
    balances = report.balances
    return LiabilityReport(
        as_of=report.as_of,
        currency=report.currency,
        point_value=str(report.point_value),
        available_points=balances.available,
        pending_points=balances.pending,
        held_points=balances.held,
        negative_points=balances.negative,
        negative_members=balances.negative_members,
        liability=str(report.liability),
        breakage_rate=str(report.breakage_rate),
        expired_points=report.spent.expired,
        redeemed_points=report.spent.redeemed,
        expiring_by_month=[MonthExpiry(month=m, points=p) for m, p in report.expiring_by_month],
        expiring_later=report.expiring_later,
        breakage_forecast=BreakageForecast(
            points=report.forecast.points,
            value=str(report.forecast.value),
            full_history=report.forecast.full_history,
        ),
        time_zone=report.time_zone,
    )
