"""Pending points mature when the return window ends; unspent points expire 365 days after the
purchase, oldest first, with a warning 30 days ahead; the scheduled jobs write each down exactly
once, even with two replicas, for members nobody reads or moves (balances_in_time covers reads
and spends, which never wait for the jobs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import create_app
from loyalty_points.lifecycle.jobs import run_due
from loyalty_points.settings import PointsSettings
from loyalty_shared.program.loader import load_program
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.support.apps import client_of, running
from tests.support.clock import ManualClock
from tests.support.waiting import eventually

PROGRAM = load_program()


async def entries(service: ClockedPoints, kind: str) -> int:
    count: int = await runtime_of(service.app).pool.fetchval(
        "SELECT count(*) FROM ledger_entry WHERE kind = $1", kind
    )
    return count


async def test_pending_points_become_available_when_the_return_window_ends(
    clocked: ClockedPoints,
) -> None:
    await clocked.buy("m-1201", "300.00", at=clocked.clock() - timedelta(days=5))
    await clocked.credited("m-1201", 300)

    clocked.clock.advance(timedelta(days=8))
    await clocked.run_jobs()
    assert await entries(clocked, "mature") == 0
    clocked.clock.advance(timedelta(days=2))
    assert (await clocked.run_jobs())["settle"] == 1
    assert (await clocked.run_jobs())["settle"] == 0

    body = await clocked.balance("m-1201")
    assert (body["available"], body["pending"], body["lifetime_earned"]) == (300, 0, 300)
    events = await clocked.events(expect=3)
    assert [e["type"] for e in events] == ["points.earned", "points.matured"]


async def test_points_older_than_365_days_expire_oldest_first_after_a_warning(
    clocked: ClockedPoints,
) -> None:
    start = clocked.clock()
    await clocked.buy("m-1202", "100.00", at=start - timedelta(days=60))
    await clocked.buy("m-1202", "100.00", at=start - timedelta(days=30))
    await clocked.credited("m-1202", 200)
    spent = await clocked.redeem("m-1202", 70)
    assert spent.status_code == 201  # takes 70 from the older lot, which has 30 left

    clocked.clock.set(start + timedelta(days=365 - 60 - 10))
    warned = await clocked.run_jobs()
    assert warned["warn"] == 1, "the older lot is within 30 days of expiry; the newer is not"
    clocked.clock.set(start + timedelta(days=365 - 60 - 5))
    assert (await clocked.run_jobs())["warn"] == 0, "warned once"
    clocked.clock.set(start + timedelta(days=365 - 60 + 1))
    assert (await clocked.run_jobs())["settle"] == 1

    assert await entries(clocked, "expire") == 1
    body = await clocked.balance("m-1202")
    assert body["available"] == 100, "only the 30 left of the older lot expired"
    assert body["lifetime_earned"] == 200, "expiry does not reduce lifetime earned"
    assert [e["points"] for e in body["expiring"]] == [100]


async def test_two_replicas_running_the_jobs_at_once_handle_each_lot_once(
    clocked: ClockedPoints,
) -> None:
    members = [f"m-13{n:02d}" for n in range(40)]
    for member in members:
        await clocked.buy(member, "10.00", at=clocked.clock() - timedelta(days=3))
    for member in members:
        await clocked.credited(member, 10)

    later = clocked.clock() + timedelta(days=12)
    first, second = await asyncio.gather(
        run_due(runtime_of(clocked.app).pool, PROGRAM, later),
        run_due(runtime_of(clocked.app).pool, PROGRAM, later),
    )

    assert first["settle"] + second["settle"] == len(members)
    assert await entries(clocked, "mature") == 40
    assert (
        await runtime_of(clocked.app).pool.fetchval("SELECT sum(available) FROM points_account")
        == 400
    )


@pytest.fixture
async def scheduled(
    points_settings: PointsSettings, broker: LocalBroker
) -> AsyncIterator[ClockedPoints]:
    clock = ManualClock()
    app = create_app(
        points_settings.model_copy(update={"points_jobs_interval_s": 0.2}), clock=clock
    )
    async with running(app), client_of(app) as api:
        yield ClockedPoints(app, api, clock, broker)


async def test_the_service_matures_and_expires_due_points_by_itself(
    scheduled: ClockedPoints,
) -> None:
    await scheduled.buy("m-1401", "250.00", at=scheduled.clock() - timedelta(days=5))
    await scheduled.credited("m-1401", 250)

    scheduled.clock.advance(timedelta(days=10))
    await eventually(lambda: entries(scheduled, "mature"), lambda n: n == 1)
    scheduled.clock.advance(timedelta(days=360))
    await eventually(lambda: entries(scheduled, "expire"), lambda n: n == 1)
