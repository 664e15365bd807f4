"""The finance job: the liability report computed every `points_finance_interval_s` into the
gauges of reports/metrics.py (each replica computes its own; the dashboard takes the max)."""

from __future__ import annotations

import asyncpg

from loyalty_points.reports import metrics
from loyalty_points.reports.service import liability
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.program.schema import Program

SERVICE = "points"


class FinanceGauges(PeriodicJob):
    failure = "points finance gauges failed"

    def __init__(
        self, *, pool: asyncpg.Pool, program: Program, clock: Clock, interval_s: float
    ) -> None:
        super().__init__(name="points-finance-gauges", interval_s=interval_s)
        self._pool = pool
        self._program = program
        self._clock = clock

    async def run_once(self) -> None:
        report = await liability(self._pool, self._program, self._clock())
        balances = report.balances
        for state, points in (
            ("available", balances.available - balances.held),
            ("held", balances.held),
            ("pending", balances.pending),
            ("negative", balances.negative),
        ):
            metrics.OUTSTANDING.labels(SERVICE, state).set(points)
        metrics.LIABILITY.labels(SERVICE, report.currency).set(float(report.liability))
        metrics.BREAKAGE.labels(SERVICE).set(float(report.breakage_rate))
        metrics.REFRESHED.labels(SERVICE).set(report.as_of.timestamp())
