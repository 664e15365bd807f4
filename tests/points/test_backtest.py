"""Backtests (contract 5.5): the stored purchases of the last days earned again under a candidate
program, by the rules the consumer runs, writing nothing. The program in force backtests to
exactly what the ledger credited; a doubled rate to the figures worked out by hand; a candidate
the program file's schema refuses is a 422 listing every problem; a backtest stops at its time
limit, when its client is gone, and runs one at a time."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalty_points.backtest import service
from loyalty_points.backtest.service import ClientGone, replay
from loyalty_points.settings import PointsSettings
from loyalty_points.state import PointsState
from loyalty_shared.http.auth import MARKETING_SCOPE
from loyalty_shared.http.state import attach_state, state_of
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.program.loader import load_program
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.support.events import envelope, purchase_data
from tests.support.kafka import publish_events
from tests.support.tokens import bearer

BONUSES = Path(__file__).parent / "programs" / "bonuses.toml"
MARKETING = bearer("analyst-1", scopes=(MARKETING_SCOPE,))
T0 = datetime(2026, 12, 10, 4, 0, tzinfo=UTC)
#: noon in Paris, during the program file's store-beauty-week
BEAUTY_WEEK = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)


@pytest.fixture
def points_settings(points_settings: PointsSettings) -> PointsSettings:
    """A program with every kind of bonus rule: categories, channels, campaigns, a cap."""
    return points_settings.model_copy(update={"program_file": BONUSES})


def item(category: str, price: str) -> dict[str, Any]:
    return {"sku": f"sku-{category}", "category": category, "quantity": 1, "unit_price": price}


async def purchased(
    clocked: ClockedPoints,
    member: str,
    total: str,
    *,
    at: datetime,
    items: list[dict[str, Any]],
    **data: Any,
) -> str:
    order = purchase_data(member, total=total, items=items, **data)
    event = envelope("purchase.completed", order, time=at)
    await publish_events(clocked.broker.bootstrap, COMMERCE_PURCHASES, [event])
    return str(order["order_id"])


async def at_tier(clocked: ClockedPoints, member: str, tier: str) -> None:
    async with runtime_of(clocked.app).pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO member_tier (member_id, tier, changed_at, event_id) "
            "VALUES ($1, $2, $3, $4)",
            member,
            tier,
            T0 - timedelta(days=30),
            f"tier-{member}",
        )


async def a_month_of_purchases(clocked: ClockedPoints) -> None:
    """Five purchases and a refund, credited 1000 + 2350 + 2600 + 5000 + 0 points:

    - m-1, bronze: CNY 1000 online apparel: 1000, refunded by half;
    - m-2, silver: CNY 1000 of electronics in the app: 1000 + 250 tier + 1000 electronics
      + 100 app = 2350;
    - m-3, silver: CNY 800 of beauty in a store in beauty week: 800 + 200 tier + 1600 campaign;
    - m-4, bronze: CNY 10000 of electronics: 20000, capped at 5000;
    - m-5: USD 500: this program gives USD no rate."""
    clocked.clock.set(T0)
    await at_tier(clocked, "m-2", "silver")
    await at_tier(clocked, "m-3", "silver")
    order = await purchased(
        clocked, "m-1", "1000.00", at=T0 - timedelta(days=2), items=[item("apparel", "1000")]
    )
    await purchased(
        clocked,
        "m-2",
        "1000.00",
        at=T0 - timedelta(days=3),
        items=[item("electronics", "1000")],
        channel="app",
    )
    await purchased(
        clocked, "m-3", "800.00", at=BEAUTY_WEEK, items=[item("beauty", "800")], channel="store"
    )
    await purchased(
        clocked, "m-4", "10000.00", at=T0 - timedelta(days=5), items=[item("electronics", "10000")]
    )
    await purchased(
        clocked,
        "m-5",
        "500.00",
        at=T0 - timedelta(days=1),
        items=[item("apparel", "500")],
        currency="USD",
    )
    for member, points in (("m-1", 1000), ("m-2", 2350), ("m-3", 2600), ("m-4", 5000)):
        await clocked.credited(member, points)
    await clocked.refund("m-1", order, "500.00")
    await clocked.credited("m-1", 500)


async def backtest(clocked: ClockedPoints, program: dict[str, Any], days: int = 30) -> Any:
    response = await clocked.api.post(
        "/v1/program/backtest", json={"program": program, "days": days}, headers=MARKETING
    )
    assert response.status_code == 200, response.text
    return response.json()


async def program_in_force(clocked: ClockedPoints) -> dict[str, Any]:
    response = await clocked.api.get("/v1/program", headers=MARKETING)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def credited_by_the_ledger(clocked: ClockedPoints) -> int:
    async with runtime_of(clocked.app).pool.acquire() as conn:
        points: int = await conn.fetchval(
            "SELECT sum(pending_delta) FROM ledger_entry WHERE kind = 'earn'"
        )
        return points


async def test_the_program_in_force_backtests_to_exactly_what_the_ledger_credited(
    clocked: ClockedPoints,
) -> None:
    await a_month_of_purchases(clocked)

    body = await backtest(clocked, await program_in_force(clocked))

    assert body["purchases"] == 5
    assert body["points_current"] == body["points_candidate"] == 10950
    assert await credited_by_the_ledger(clocked) == 10950
    assert body["by_tier"] == {
        "bronze": {"purchases": 3, "points_current": 6000, "points_candidate": 6000},
        "silver": {"purchases": 2, "points_current": 4950, "points_candidate": 4950},
    }
    assert body["liability_added"] == "0.00"
    assert body["purchases_without_categories"] == 0


async def test_a_doubled_rate_backtests_to_the_figures_worked_out_by_hand(
    clocked: ClockedPoints,
) -> None:
    await a_month_of_purchases(clocked)
    program = await program_in_force(clocked)
    program["earning"]["rates"] = {"CNY": "2"}

    body = await backtest(clocked, program)

    # m-1 2000; m-2 2000 + 500 + 2000 + 200 = 4700; m-3 1600 + 400 + 3200 = 5200, capped at
    # 5000; m-4 5000 (capped); m-5 0
    assert (body["points_current"], body["points_candidate"]) == (10950, 16700)
    assert body["by_tier"]["silver"]["points_candidate"] == 9700
    assert body["by_tier"]["bronze"]["points_candidate"] == 7000
    # net of m-1's half refund: (1000 + 4700 + 5000 + 5000) - (500 + 2350 + 2600 + 5000) = 5250
    # points, at 0.01 with no breakage yet
    assert body["liability_added"] == "52.50"


async def test_a_shorter_window_backtests_only_the_purchases_in_it(
    clocked: ClockedPoints,
) -> None:
    await a_month_of_purchases(clocked)

    body = await backtest(clocked, await program_in_force(clocked), days=4)

    assert (body["purchases"], body["points_current"]) == (3, 3350), "m-1, m-2 and m-5"


async def test_a_backtest_changes_nothing(clocked: ClockedPoints) -> None:
    await a_month_of_purchases(clocked)
    before = await fingerprint(clocked)

    program = await program_in_force(clocked)
    program["earning"]["rates"] = {"CNY": "3"}
    await backtest(clocked, program)

    assert await fingerprint(clocked) == before


async def fingerprint(clocked: ClockedPoints) -> list[str]:
    async with runtime_of(clocked.app).pool.acquire() as conn:
        return [
            await conn.fetchval(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {t} t")
            for t in ("purchase", "points_lot", "ledger_entry", "points_account", "audit_log")
        ]


async def test_a_candidate_the_program_schema_refuses_is_a_422_listing_every_problem(
    clocked: ClockedPoints,
) -> None:
    program = await program_in_force(clocked)
    program["earning"]["rates"] = {"CNY": "-1"}
    program["time_zone"] = "Mars/Olympus_Mons"
    program["tiers"]["ladder"] = []
    program["bonus"] = "typo"

    response = await clocked.api.post(
        "/v1/program/backtest", json={"program": program, "days": 30}, headers=MARKETING
    )

    assert response.status_code == 422
    assert sorted(e["location"] for e in response.json()["errors"]) == [
        "body.program.bonus",
        "body.program.earning.rates.CNY",
        "body.program.tiers.ladder",
        "body.program.time_zone",
    ]
    over = await clocked.api.post(
        "/v1/program/backtest", json={"program": program, "days": 366}, headers=MARKETING
    )
    assert "body.days" in {e["location"] for e in over.json()["errors"]}


async def test_purchases_credited_before_categories_were_kept_are_counted_apart(
    clocked: ClockedPoints,
) -> None:
    await a_month_of_purchases(clocked)
    async with runtime_of(clocked.app).pool.acquire() as conn:
        await conn.execute("UPDATE purchase SET categories = NULL WHERE member_id = 'm-2'")

    body = await backtest(clocked, await program_in_force(clocked))

    assert body["purchases_without_categories"] == 1
    assert body["by_tier"]["silver"]["points_candidate"] == 3950, "m-2 without electronics"


async def test_a_backtest_stops_at_its_time_limit_and_one_runs_at_a_time(
    clocked: ClockedPoints,
) -> None:
    await a_month_of_purchases(clocked)
    program = await program_in_force(clocked)
    state = state_of_app(clocked)
    request = {"program": program, "days": 30}

    attach_state(clocked.app, dataclasses.replace(state, backtest_timeout_s=1e-9))
    late = await clocked.api.post("/v1/program/backtest", json=request, headers=MARKETING)
    attach_state(clocked.app, state)
    async with state.backtest_slot:
        busy = await clocked.api.post("/v1/program/backtest", json=request, headers=MARKETING)
    after = await clocked.api.post("/v1/program/backtest", json=request, headers=MARKETING)

    assert late.status_code == 503
    assert late.json()["type"].endswith("backtest-timed-out")
    assert busy.status_code == 429
    assert after.status_code == 200, "the service is none the worse"


def state_of_app(clocked: ClockedPoints) -> PointsState:
    return state_of(clocked.app, PointsState)


async def test_a_backtest_whose_client_is_gone_stops_after_the_batch_in_hand(
    clocked: ClockedPoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    await a_month_of_purchases(clocked)
    monkeypatch.setattr(service, "BATCH", 2)
    asked = 0

    async def gone() -> bool:
        nonlocal asked
        asked += 1
        return True

    async with runtime_of(clocked.app).pool.acquire() as conn, conn.transaction(readonly=True):
        with pytest.raises(ClientGone):
            await replay(
                conn,
                load_program(BONUSES),
                since=T0 - timedelta(days=30),
                until=T0,
                client_gone=gone,
            )

    assert asked == 1, "asked once, after the first batch of 2 of the 5 purchases"
