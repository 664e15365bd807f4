"""Balances are exact when they are read: time decides, not when a job last ran. Points past
their expiry are never spendable, pending points whose return window has ended are available
the moment it ends, `expiring` always adds up to `available`, and the jobs, when they run later,
write down what was already so without moving a balance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.points.conftest import ClockedPoints
from tests.support.tokens import bearer

MS = timedelta(milliseconds=1)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def kinds(ledger: list[dict[str, Any]]) -> list[str]:
    return sorted(entry["type"] for entry in ledger)


async def test_purchases_older_than_the_expiry_are_earned_and_expired_at_once_never_spendable(
    clocked: ClockedPoints,
) -> None:
    now = clocked.clock()
    await clocked.buy("m-4001", "100.00", at=now - timedelta(days=400))
    await clocked.buy("m-4001", "60.00", at=now - timedelta(days=380))

    body = await clocked.credited("m-4001", 160)

    assert (body["available"], body["pending"], body["expiring"]) == (0, 0, [])
    assert (await clocked.redeem("m-4001", 1)).status_code == 409
    assert (await clocked.hold("m-4001", 1)).status_code == 409
    assert kinds(await clocked.ledger("m-4001")) == sorted(["earn", "mature", "expire"] * 2)
    events = await clocked.events(expect=4)
    assert sorted(e["type"] for e in events) == sorted(["points.earned", "points.expired"] * 2)
    assert {e["data"]["status"] for e in events if e["type"] == "points.earned"} == {"expired"}

    await clocked.run_jobs()

    assert await clocked.balance("m-4001") == body, "the jobs move nothing afterwards"
    assert len(await clocked.ledger("m-4001")) == 6
    assert len(await clocked.events(expect=5)) == 4, "and emit nothing again"


async def test_a_lot_expiring_at_t_cannot_be_spent_at_t_plus_a_millisecond(
    clocked: ClockedPoints,
) -> None:
    bought = clocked.clock() - timedelta(days=20)
    await clocked.buy("m-4002", "100.00", at=bought)
    body = await clocked.credited("m-4002", 100)
    expires_at = when(body["expiring"][0]["expires_at"])
    assert expires_at == bought + timedelta(days=365)

    clocked.clock.set(expires_at - MS)
    assert (await clocked.balance("m-4002"))["available"] == 100
    clocked.clock.set(expires_at + MS)

    assert (await clocked.redeem("m-4002", 1)).status_code == 409
    after = await clocked.balance("m-4002")
    assert (after["available"], after["expiring"], after["lifetime_earned"]) == (0, [], 100)
    expiry = [e for e in await clocked.ledger("m-4002") if e["type"] == "expire"]
    assert [(e["points"], when(e["occurred_at"])) for e in expiry] == [(-100, expires_at)], (
        "written down at the moment it expired"
    )


async def test_a_lot_whose_window_ended_at_t_is_available_at_t_plus_a_millisecond(
    clocked: ClockedPoints,
) -> None:
    bought = clocked.clock()
    await clocked.buy("m-4003", "100.00", at=bought)
    body = await clocked.credited("m-4003", 100)
    assert (body["available"], body["pending"]) == (0, 100)
    window_ends = bought + timedelta(days=14)

    clocked.clock.set(window_ends - MS)
    assert (await clocked.redeem("m-4003", 1)).status_code == 409
    clocked.clock.set(window_ends + MS)

    after = await clocked.balance("m-4003")
    assert (after["available"], after["pending"]) == (100, 0)
    assert [(e["points"], when(e["expires_at"])) for e in after["expiring"]] == [
        (100, bought + timedelta(days=365))
    ]
    assert (await clocked.redeem("m-4003", 40)).status_code == 201
    assert (await clocked.balance("m-4003"))["available"] == 60

    await clocked.run_jobs()

    assert (await clocked.balance("m-4003"))["available"] == 60
    assert kinds(await clocked.ledger("m-4003")) == ["earn", "mature", "redeem"]
    matured = [e for e in await clocked.events(expect=4) if e["type"] == "points.matured"]
    assert len(matured) == 1


async def test_jobs_that_run_first_write_the_same_entries_and_reads_agree(
    clocked: ClockedPoints,
) -> None:
    bought = clocked.clock()
    await clocked.buy("m-4004", "100.00", at=bought)
    await clocked.credited("m-4004", 100)
    clocked.clock.advance(timedelta(days=400))

    await clocked.run_jobs()
    body = await clocked.balance("m-4004")

    assert (body["available"], body["pending"], body["expiring"]) == (0, 0, [])
    assert kinds(await clocked.ledger("m-4004")) == ["earn", "expire", "mature"]
    assert (await clocked.run_jobs())["settle"] == 0


async def test_expiring_adds_up_to_available_and_new_points_repay_a_debt_first(
    clocked: ClockedPoints,
) -> None:
    now = clocked.clock()
    first = await clocked.buy("m-4005", "100.00", at=now - timedelta(days=30))
    await clocked.buy("m-4005", "50.00", at=now - timedelta(days=20))
    await clocked.credited("m-4005", 150)
    assert (await clocked.redeem("m-4005", 100)).status_code == 201  # the older lot is spent
    await clocked.refund("m-4005", first, "100.00")

    body = await clocked.credited("m-4005", 50)
    assert body["available"] == -50, "the refund took back points already spent"
    assert body["expiring"] == [], "nothing left while the balance is negative"

    assert (await clocked.adjust("m-4005", 80)).status_code == 201

    after = await clocked.balance("m-4005")
    assert after["available"] == 30
    assert sum(e["points"] for e in after["expiring"]) == 30, "the grant repaid the debt first"


async def test_the_balance_as_of_a_business_time_counts_what_had_taken_effect_by_then(
    clocked: ClockedPoints,
) -> None:
    start = clocked.clock()
    await clocked.buy("m-4006", "100.00", at=start - timedelta(days=30))
    await clocked.buy("m-4006", "40.00", at=start - timedelta(days=5))
    await clocked.credited("m-4006", 140)
    assert (await clocked.redeem("m-4006", 30)).status_code == 201
    clocked.clock.advance(timedelta(days=400))

    def at(moment: datetime) -> dict[str, str]:
        return {"as_of": moment.isoformat()}

    before_all = await clocked.balance("m-4006", **at(start - timedelta(days=31)))
    in_window = await clocked.balance("m-4006", **at(start - timedelta(days=20)))
    after_spend = await clocked.balance("m-4006", **at(start + timedelta(seconds=1)))
    both = await clocked.balance("m-4006", **at(start + timedelta(days=10)))
    expired = await clocked.balance("m-4006", **at(start + timedelta(days=336)))
    future = await clocked.api.get(
        "/v1/members/m-4006/points",
        params=at(clocked.clock() + timedelta(days=1)),
        headers=bearer("m-4006"),
    )

    assert (before_all["available"], before_all["pending"]) == (0, 0)
    assert (in_window["available"], in_window["pending"], in_window["expiring"]) == (0, 100, [])
    assert (after_spend["available"], after_spend["pending"]) == (70, 40)
    assert [e["points"] for e in after_spend["expiring"]] == [70]
    assert (both["available"], [e["points"] for e in both["expiring"]]) == (110, [70, 40])
    assert (expired["available"], [e["points"] for e in expired["expiring"]]) == (40, [40])
    assert expired["lifetime_earned"] == 140
    assert future.status_code == 422


async def test_transactions_from_and_to_keep_the_entries_that_took_effect_between(
    clocked: ClockedPoints,
) -> None:
    start = clocked.clock()
    await clocked.buy("m-4007", "100.00", at=start - timedelta(days=30))
    await clocked.buy("m-4007", "40.00", at=start - timedelta(days=5))
    await clocked.credited("m-4007", 140)

    window = await clocked.ledger(
        "m-4007",
        **{
            "from": (start - timedelta(days=31)).isoformat(),
            "to": (start - timedelta(days=10)).isoformat(),
        },
    )

    assert kinds(window) == ["earn", "mature"], "the older purchase and the end of its window"


async def test_a_hold_whose_time_ran_out_gives_its_points_back_at_that_moment(
    clocked: ClockedPoints,
) -> None:
    assert (await clocked.adjust("m-4008", 100)).status_code == 201
    hold = (await clocked.hold("m-4008", 60, ttl_seconds=60)).json()
    assert (await clocked.balance("m-4008"))["held"] == 60

    clocked.clock.advance(timedelta(seconds=60) + MS)

    body = await clocked.balance("m-4008")
    assert (body["available"], body["held"]) == (100, 0), "without any job having run"
    read = await clocked.api.get(f"/v1/members/m-4008/holds/{hold['id']}", headers=bearer("m-4008"))
    assert read.json()["status"] == "expired"
    release = [e for e in await clocked.ledger("m-4008") if e["type"] == "hold_release"]
    assert [when(e["occurred_at"]) for e in release] == [when(hold["expires_at"])]
