"""The liability report (contract 5.5): outstanding points in money, moved by exactly what each
purchase, redemption, refund and expiry moves, as time says at the report's instant (a lot that
expired a millisecond ago is no longer owed, before any job ran); balances below zero apart;
the breakage rate and its forecast from the ledger; what expires in which month of the
program's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from prometheus_client import REGISTRY

from loyalty_points.reports.jobs import FinanceGauges
from loyalty_shared.http.auth import FINANCE_SCOPE
from loyalty_shared.program.loader import load_program
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.support.tokens import bearer

FINANCE = bearer("controller-1", scopes=(FINANCE_SCOPE,))
MS = timedelta(milliseconds=1)
#: 12:00 in Shanghai, the program's time zone
T0 = datetime(2027, 3, 10, 4, 0, tzinfo=UTC)


async def report(clocked: ClockedPoints) -> dict[str, Any]:
    response = await clocked.api.get("/v1/reports/liability", headers=FINANCE)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def figures(body: dict[str, Any]) -> tuple[int, int, str, str]:
    return (
        body["available_points"],
        body["pending_points"],
        body["liability"],
        body["breakage_rate"],
    )


async def test_liability_moves_by_exactly_what_a_purchase_redemption_refund_and_expiry_move(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    assert figures(await report(clocked)) == (0, 0, "0.00", "0.0000")

    order = await clocked.buy("m-7001", "1000.00", at=T0)
    await clocked.credited("m-7001", 1000)
    assert figures(await report(clocked)) == (0, 1000, "10.00", "0.0000")

    clocked.clock.set(T0 + timedelta(days=14) + MS)  # the return window is over: no job ran
    assert figures(await report(clocked)) == (1000, 0, "10.00", "0.0000")

    assert (await clocked.redeem("m-7001", 400)).status_code == 201
    body = await report(clocked)
    assert figures(body) == (600, 0, "6.00", "0.0000")
    assert (body["redeemed_points"], body["expired_points"]) == (400, 0)

    await clocked.refund("m-7001", order, "500.00")  # takes back 500 of the 1000 points
    await clocked.credited("m-7001", 500)
    assert figures(await report(clocked)) == (100, 0, "1.00", "0.0000")

    clocked.clock.set(T0 + timedelta(days=365) + MS)  # the last 100 expired a millisecond ago
    body = await report(clocked)
    assert figures(body) == (0, 0, "0.00", "0.2000"), "100 expired of 500 spent or expired"
    assert (body["redeemed_points"], body["expired_points"]) == (400, 100)

    await clocked.buy("m-7001", "500.00", at=clocked.clock())
    await clocked.credited("m-7001", 1000)
    body = await report(clocked)
    assert figures(body) == (0, 500, "4.00", "0.2000"), "500 x 0.01 x (1 - 0.2)"
    assert body["breakage_forecast"]["full_history"] is False


async def test_a_lot_that_expired_a_millisecond_ago_is_not_liability_and_no_job_counts_it_again(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0 - timedelta(days=1))
    await clocked.buy("m-7002", "300.00", at=T0 - timedelta(days=365))
    await clocked.buy("m-7003", "200.00", at=T0 - timedelta(days=20))
    await clocked.credited("m-7002", 300)
    await clocked.credited("m-7003", 200)
    clocked.clock.set(T0 - MS)  # m-7002's lot expires at T0: still owed a millisecond before
    assert figures(await report(clocked)) == (500, 0, "5.00", "0.0000")

    clocked.clock.set(T0 + MS)
    body = await report(clocked)

    assert figures(body) == (200, 0, "0.00", "1.0000"), "expired with nothing redeemed"
    assert body["expired_points"] == 300
    assert (await clocked.run_jobs())["settle"] == 0, "the report wrote it down, as the job would"
    assert [e["type"] for e in await clocked.ledger("m-7002")].count("expire") == 1
    assert await report(clocked) == body


async def test_balances_below_zero_are_reported_apart_and_reduce_no_one_elses_liability(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    order = await clocked.buy("m-7004", "1000.00", at=T0 - timedelta(days=20))
    await clocked.buy("m-7005", "300.00", at=T0 - timedelta(days=20))
    await clocked.credited("m-7004", 1000)
    await clocked.credited("m-7005", 300)
    assert (await clocked.redeem("m-7004", 1000)).status_code == 201
    await clocked.refund("m-7004", order, "1000.00")  # the points were spent: -1000
    await clocked.credited("m-7004", 0)
    assert (await clocked.balance("m-7004"))["available"] == -1000

    body = await report(clocked)

    assert figures(body) == (300, 0, "3.00", "0.0000")
    assert (body["negative_points"], body["negative_members"]) == (-1000, 1)


async def test_points_held_for_a_checkout_are_still_owed(clocked: ClockedPoints) -> None:
    clocked.clock.set(T0)
    await clocked.buy("m-7006", "1000.00", at=T0 - timedelta(days=20))
    await clocked.credited("m-7006", 1000)
    assert (await clocked.hold("m-7006", 200)).status_code == 201

    body = await report(clocked)

    assert figures(body) == (1000, 0, "10.00", "0.0000")
    assert body["held_points"] == 200


async def test_expiring_points_are_listed_by_month_of_the_programs_time_zone(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    # 00:30 on 1 April in Shanghai, still 31 March in UTC
    first_of_april = datetime(2027, 3, 31, 16, 30, tzinfo=UTC)
    await clocked.buy("m-7007", "100.00", at=first_of_april - timedelta(days=365))
    await clocked.buy("m-7007", "40.00", at=T0 - timedelta(days=300))  # expires 14 May
    await clocked.buy("m-7007", "7.00", at=T0)  # pending; expires in March next year
    await clocked.credited("m-7007", 147)

    body = await report(clocked)

    assert body["time_zone"] == "Asia/Shanghai"
    months = [(m["month"], m["points"]) for m in body["expiring_by_month"]]
    assert [m for m, _ in months] == [
        *(f"2027-{n:02d}" for n in range(3, 13)),
        "2028-01",
        "2028-02",
    ]
    assert [(m, p) for m, p in months if p] == [("2027-04", 100), ("2027-05", 40)]
    assert body["expiring_later"] == 7


async def test_breakage_comes_from_a_year_of_expiries_and_redemptions_and_forecasts_the_next(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    history = [  # (kind, days ago, available, pending, held)
        ("earn", 800, 0, 2000, 0),  # the ledger's first entry: two years and more of history
        ("expire", 10, -300, 0, 0),
        ("expire", 100, 0, -50, 0),  # a pending lot outlived by its expiry
        ("redeem", 200, -600, 0, 0),
        ("redeem", 5, 0, 0, -100),  # a checkout hold committed
        ("redeem_cancel", 4, 100, 0, 0),
        ("expire", 366, -1000, 0, 0),  # a year and a day ago: outside the window
        ("redeem", 400, -5000, 0, 0),
        ("adjust", 3, -70, 0, 0),  # neither spent nor expired
    ]
    async with runtime_of(clocked.app).pool.acquire() as conn:
        await conn.executemany(
            """
            INSERT INTO ledger_entry (member_id, kind, available_delta, pending_delta,
                                      held_delta, actor, occurred_at)
            VALUES ('m-history', $1, $2, $3, $4, 'test', $5)
            """,
            [(k, a, p, h, T0 - timedelta(days=d)) for k, d, a, p, h in history],
        )
    await clocked.buy("m-7008", "1000.00", at=T0 - timedelta(days=20))  # expires in Feb 2028
    await clocked.credited("m-7008", 1000)

    body = await report(clocked)

    assert (body["expired_points"], body["redeemed_points"]) == (350, 600)
    assert body["breakage_rate"] == "0.3684", "350 / (350 + 600)"
    assert body["liability"] == "6.32", "1000 x 0.01 x (1 - 0.3684) = 6.316"
    assert body["breakage_forecast"] == {"points": 368, "value": "3.68", "full_history": True}
    assert Decimal(body["point_value"]) == Decimal("0.01")
    assert body["currency"] == "CNY"


async def test_only_finance_and_admins_read_the_liability(clocked: ClockedPoints) -> None:
    marketing = bearer("analyst-1", scopes=("loyalty:marketing",))
    answer = await clocked.api.get("/v1/reports/liability", headers=marketing)
    assert answer.status_code == 403
    admin = await clocked.api.get("/v1/reports/liability", headers=bearer("ops-1", admin=True))
    assert admin.status_code == 200


async def test_the_finance_gauges_show_what_the_report_says_computed_by_their_job(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    await clocked.buy("m-7009", "1000.00", at=T0 - timedelta(days=20))
    await clocked.buy("m-7009", "250.00", at=T0)
    await clocked.credited("m-7009", 1250)
    assert (await clocked.hold("m-7009", 100)).status_code == 201
    job = FinanceGauges(
        pool=runtime_of(clocked.app).pool,
        program=load_program(),
        clock=clocked.clock,
        interval_s=300,
    )

    await job.run_once()

    def gauge(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"service": "points", **labels})

    assert [
        gauge("loyalty_points_outstanding", state=s)
        for s in ("available", "held", "pending", "negative")
    ] == [900, 100, 250, 0]
    assert gauge("loyalty_points_liability", currency="CNY") == 12.5
    assert gauge("loyalty_points_breakage_ratio") == 0
    assert gauge("loyalty_points_finance_refreshed_timestamp_seconds") == T0.timestamp()
