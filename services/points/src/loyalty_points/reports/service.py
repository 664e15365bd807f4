"""The liability report (contract 5.5): outstanding points valued at the program's point value,
less what the breakage rate says will never be redeemed. Every figure is as time says at the
report's instant: what is due by then is settled first, exactly as the scheduled job would
(docs/finance.md#exact-in-time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import settle_due
from loyalty_points.reports import repository
from loyalty_points.reports.repository import Balances, Spent
from loyalty_shared.db import Pool
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import Program

log = get_logger(__name__)

BATCH = 1000
BREAKAGE_WINDOW = timedelta(days=365)
MONTHS_AHEAD = 12
_CENT = Decimal("0.01")
_RATE = Decimal("0.0001")


async def settle_everything_due(pool: Pool, now: datetime) -> int:
    """Write down everything time has decided by `now`, member by member as every read does
    (ledger/settlement.py), in batches of `BATCH` members, each its own transaction. Unlike the
    scheduled job, a member whose account a request holds is waited for, not skipped: the report
    must not count it as it was. Returns how many members were settled."""
    settled = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            members = await settle_due(conn, now, limit=BATCH, wait=True)
        settled += members
        if members < BATCH:
            return settled


@dataclass(frozen=True, slots=True)
class Forecast:
    points: int
    value: Decimal
    full_history: bool


@dataclass(frozen=True, slots=True)
class Liability:
    as_of: datetime
    currency: str
    point_value: Decimal
    time_zone: str
    balances: Balances
    spent: Spent
    breakage_rate: Decimal
    liability: Decimal
    expiring_by_month: list[tuple[str, int]]
    #: points expiring after the last month of `expiring_by_month`
    expiring_later: int
    forecast: Forecast


def breakage_rate(spent: Spent) -> Decimal:
    """expired / (expired + redeemed), to 4 places; 0 when nothing was spent or expired."""
    total = spent.expired + spent.redeemed
    if total == 0:
        return Decimal("0.0000")
    return (Decimal(spent.expired) / total).quantize(_RATE, ROUND_HALF_EVEN)


def months_ahead(now: datetime, time_zone: str) -> tuple[list[str], datetime]:
    """The month of `now` in `time_zone` and the 11 after it ("YYYY-MM"), and the instant the
    month after those begins."""
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    year, month = local.year, local.month
    months = []
    for _ in range(MONTHS_AHEAD):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months, datetime(year, month, 1, tzinfo=zone)


async def liability(pool: Pool, program: Program, now: datetime) -> Liability:
    await settle_everything_due(pool, now)
    months, horizon = months_ahead(now, program.time_zone)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        balances = await repository.balances(conn)
        spent = await repository.spent(conn, now - BREAKAGE_WINDOW, now)
        expiring = await repository.expiring_by_month(
            conn, time_zone=program.time_zone, after=now, before=horizon
        )
        began = await repository.ledger_began(conn)
    rate = breakage_rate(spent)
    outstanding = balances.available + balances.pending
    expiring_by_month = [(month, expiring.get(month, 0)) for month in months]
    forecast_points = int(
        (sum(points for _, points in expiring_by_month) * rate).to_integral_value(ROUND_HALF_EVEN)
    )
    full_history = (
        began is not None and began <= now - BREAKAGE_WINDOW - LotExpiry.of(program).longest
    )
    return Liability(
        as_of=now,
        currency=program.currency,
        point_value=program.point_value,
        time_zone=program.time_zone,
        balances=balances,
        spent=spent,
        breakage_rate=rate,
        liability=money(outstanding * program.point_value * (1 - rate)),
        expiring_by_month=expiring_by_month,
        expiring_later=expiring.get("later", 0),
        forecast=Forecast(
            points=forecast_points,
            value=money(forecast_points * program.point_value),
            full_history=full_history,
        ),
    )


def money(value: Decimal) -> Decimal:
    """To the cent, half up (as an invoice rounds)."""
    return value.quantize(_CENT, ROUND_HALF_UP)
