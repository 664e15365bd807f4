"""The program's expiry policy decides when points expire: `per_lot` (the default, the contract's),
`days` after their lot was earned; `rolling`, `days` after the member's latest earning or
spending, which pushes every point they still hold; `calendar`, points earned in year Y at the
end of year Y + `years` in the program's time zone. Each at its boundary: spendable the instant
before, expired at it, written down at that instant."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import create_app
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.settings import PointsSettings
from loyalty_shared.program.loader import ProgramError, default_program_path, load_program
from loyalty_shared.program.schema import Program
from tests.points.conftest import ClockedPoints
from tests.support.apps import client_of, on_test_broker, running
from tests.support.clock import ManualClock

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
ROLLING = 'policy = "rolling"\ndays = 90'
CALENDAR = 'policy = "calendar"\nyears = 1'

Start = Callable[[str, datetime], AbstractAsyncContextManager[ClockedPoints]]


def program_text(expiry: str) -> str:
    """The default program with `[expiry]` in place of `earning.expiry_days`."""
    text = default_program_path().read_text(encoding="utf-8")
    assert "expiry_days = 365\n" in text
    return text.replace("expiry_days = 365\n", "") + f"\n[expiry]\n{expiry}\n"


@pytest.fixture
def points_under(new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path) -> Start:
    """The points service under the default program with this `[expiry]`, on a clock at `now`
    the test moves (its scheduled jobs left to the test)."""

    @asynccontextmanager
    async def start(expiry: str, now: datetime) -> AsyncIterator[ClockedPoints]:
        program = tmp_path / f"program-{uuid.uuid4().hex[:8]}.toml"
        program.write_text(program_text(expiry), encoding="utf-8")
        settings = PointsSettings(
            points_database_url=new_database("points"),
            program_file=program,
            points_jobs_interval_s=3600,
            **on_test_broker(broker),
        )
        clock = ManualClock(now)
        app = create_app(settings, clock=clock)
        async with running(app), client_of(app) as api:
            yield ClockedPoints(app, api, clock, broker)

    return start


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def expiring(body: dict[str, Any]) -> list[tuple[int, datetime]]:
    return [(e["points"], at(e["expires_at"])) for e in body["expiring"]]


async def expiries(service: ClockedPoints, member: str) -> list[tuple[int, datetime]]:
    """The member's expiry entries: (points, when they took effect)."""
    return sorted(
        (entry["points"], at(entry["occurred_at"]))
        for entry in await service.ledger(member)
        if entry["type"] == "expire"
    )


async def available_at(service: ClockedPoints, member: str, instant: datetime) -> int:
    service.clock.set(instant)
    points: int = (await service.balance(member))["available"]
    return points


# --- per_lot: the default -----------------------------------------------------------------


async def test_per_lot_points_expire_365_days_after_their_lot_was_earned_whatever_comes_later(
    clocked: ClockedPoints,
) -> None:
    start = clocked.clock()
    earned = start - 20 * DAY
    await clocked.buy("m-8001", "100.00", at=earned)
    await clocked.credited("m-8001", 100)
    await clocked.buy("m-8001", "50.00", at=start)
    await clocked.credited("m-8001", 150)
    assert (await clocked.redeem("m-8001", 10)).status_code == 201
    expires_at = earned + 365 * DAY

    assert expiring(await clocked.balance("m-8001")) == [(90, expires_at)], (
        "a later purchase and a redemption leave the older lot's expiry as it was"
    )
    assert await available_at(clocked, "m-8001", expires_at - SECOND) == 140
    assert await available_at(clocked, "m-8001", expires_at) == 50
    assert await expiries(clocked, "m-8001") == [(-90, expires_at)]


async def test_per_lot_a_lot_earned_on_29_february_expires_365_days_later_on_28_february(
    points_under: Start,
) -> None:
    earned = at("2028-02-29T02:00:00+00:00")
    async with points_under('policy = "per_lot"\ndays = 365', earned + 20 * DAY) as points:
        await points.buy("m-8002", "100.00", at=earned)
        body = await points.credited("m-8002", 100)
        expires_at = at("2029-02-28T02:00:00+00:00")

        assert expiring(body) == [(100, expires_at)]
        assert await available_at(points, "m-8002", expires_at - SECOND) == 100
        assert await available_at(points, "m-8002", expires_at) == 0
        assert await expiries(points, "m-8002") == [(-100, expires_at)]


# --- rolling --------------------------------------------------------------------------------


async def test_rolling_a_purchase_pushes_every_unexpired_lot_to_its_day_plus_n_days(
    points_under: Start,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    async with points_under(ROLLING, start) as points:
        await points.buy("m-8101", "100.00", at=start - 20 * DAY)  # would expire at start + 70d
        await points.credited("m-8101", 100)
        points.clock.set(start + 60 * DAY)
        await points.buy("m-8101", "50.00", at=start + 60 * DAY)
        await points.credited("m-8101", 150)
        pushed_to = start + 150 * DAY

        assert expiring(await points.balance("m-8101")) == [(100, pushed_to)]
        assert await available_at(points, "m-8101", start + 71 * DAY) == 100
        assert await available_at(points, "m-8101", pushed_to - SECOND) == 150
        assert await available_at(points, "m-8101", pushed_to) == 0
        assert await expiries(points, "m-8101") == [(-100, pushed_to), (-50, pushed_to)]


async def test_rolling_a_redemption_pushes_the_expiry_of_the_points_left(
    points_under: Start,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    async with points_under(ROLLING, start) as points:
        await points.buy("m-8102", "100.00", at=start - 20 * DAY)
        await points.credited("m-8102", 100)
        points.clock.set(start + 60 * DAY)
        assert (await points.redeem("m-8102", 30)).status_code == 201
        pushed_to = start + 150 * DAY

        assert expiring(await points.balance("m-8102")) == [(70, pushed_to)]
        assert await available_at(points, "m-8102", pushed_to - SECOND) == 70
        assert await available_at(points, "m-8102", pushed_to) == 0
        assert await expiries(points, "m-8102") == [(-70, pushed_to)]
        events = await points.events(expect=3)
        assert [
            (e["data"]["points"], at(e["data"]["expired_at"]))
            for e in events
            if e["type"] == "points.expired"
        ] == [(70, pushed_to)], "points.expired says the pushed expiry"


async def test_rolling_a_lot_already_past_its_expiry_stays_expired_when_the_member_comes_back(
    points_under: Start,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    async with points_under(ROLLING, start) as points:
        await points.buy("m-8103", "100.00", at=start - 20 * DAY)  # expires at start + 70d
        await points.credited("m-8103", 100)
        points.clock.set(start + 80 * DAY)  # nobody read it nor ran the jobs since

        await points.buy("m-8103", "50.00", at=start + 80 * DAY)
        body = await points.credited("m-8103", 150)

        assert (body["available"], body["pending"]) == (0, 50)
        assert await expiries(points, "m-8103") == [(-100, start + 70 * DAY)]
        assert (await points.adjust("m-8103", 5)).status_code == 201
        assert (await points.balance("m-8103"))["available"] == 5, "not revived by a grant"


async def test_rolling_a_backdated_purchase_pushes_from_its_own_time_and_never_shortens(
    points_under: Start,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    async with points_under(ROLLING, start) as points:
        await points.buy("m-8104", "100.00", at=start - 20 * DAY)  # expires at start + 70d
        await points.credited("m-8104", 100)

        await points.buy("m-8104", "10.00", at=start - 10 * DAY)  # published late
        await points.credited("m-8104", 110)
        assert expiring(await points.balance("m-8104")) == [(100, start + 80 * DAY)], (
            "pushed to the purchase's time + 90 days, not to now + 90 days"
        )

        assert (await points.redeem("m-8104", 1)).status_code == 201  # now: to start + 90d
        await points.buy("m-8104", "10.00", at=start - 5 * DAY)
        await points.credited("m-8104", 120)
        assert expiring(await points.balance("m-8104")) == [(99, start + 90 * DAY)], (
            "an older activity never brings an expiry closer"
        )


async def test_rolling_a_pushed_lot_is_warned_again_of_its_new_expiry(
    points_under: Start,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    async with points_under(ROLLING, start) as points:
        await points.buy("m-8105", "100.00", at=start - 20 * DAY)
        await points.credited("m-8105", 100)
        points.clock.set(start + 45 * DAY)
        assert (await points.run_jobs())["warn"] == 1, "25 days before start + 70d"
        assert (await points.redeem("m-8105", 10)).status_code == 201
        assert (await points.run_jobs())["warn"] == 0, "start + 135d is more than 30 days away"

        points.clock.set(start + 110 * DAY)
        assert (await points.run_jobs())["warn"] == 1
        points.clock.set(start + 135 * DAY)
        assert (await points.run_jobs())["settle"] == 1

        events = await points.events(expect=5)
        assert [
            (
                e["type"],
                e["data"]["points"],
                at(e["data"].get("expires_at", e["data"].get("expired_at"))),
            )
            for e in events
            if e["type"] in ("points.expiring", "points.expired")
        ] == [
            ("points.expiring", 100, start + 70 * DAY),
            ("points.expiring", 90, start + 135 * DAY),
            ("points.expired", 90, start + 135 * DAY),
        ]
        warnings = {e["id"] for e in events if e["type"] == "points.expiring"}
        assert len(warnings) == 2, "the second warning is no duplicate of the first"


# --- calendar -------------------------------------------------------------------------------


async def test_calendar_points_expire_when_the_year_after_their_year_ends_in_shanghai(
    points_under: Start,
) -> None:
    async with points_under(CALENDAR, at("2027-01-20T00:00:00+00:00")) as points:
        await points.buy("m-8201", "100.00", at=at("2026-06-01T00:00:00+00:00"))
        await points.buy("m-8201", "40.00", at=at("2026-12-31T15:59:59+00:00"))  # 23:59:59 local
        await points.buy("m-8201", "7.00", at=at("2026-12-31T16:00:00+00:00"))  # 2027 in Shanghai
        body = await points.credited("m-8201", 147)
        end_of_2027 = at("2028-01-01T00:00:00+08:00")

        assert end_of_2027 == at("2027-12-31T16:00:00+00:00")
        assert expiring(body) == [(140, end_of_2027), (7, at("2029-01-01T00:00:00+08:00"))]
        assert await available_at(points, "m-8201", at("2027-12-31T15:59:59+00:00")) == 147
        assert await available_at(points, "m-8201", at("2027-12-31T16:00:00+00:00")) == 7
        assert await expiries(points, "m-8201") == [(-100, end_of_2027), (-40, end_of_2027)]


async def test_calendar_a_lot_earned_on_29_february_expires_at_the_end_of_the_next_year(
    points_under: Start,
) -> None:
    earned = at("2028-02-29T02:00:00+00:00")
    async with points_under(CALENDAR, earned + 20 * DAY) as points:
        await points.buy("m-8202", "100.00", at=earned)
        body = await points.credited("m-8202", 100)
        expires_at = at("2029-12-31T16:00:00+00:00")  # 1 January 2030, 00:00 in Shanghai

        assert expiring(body) == [(100, expires_at)]
        assert (await points.redeem("m-8202", 1)).status_code == 201
        assert expiring(await points.balance("m-8202")) == [(99, expires_at)], "no push"
        assert await available_at(points, "m-8202", expires_at - SECOND) == 99
        assert await available_at(points, "m-8202", expires_at) == 0


@pytest.mark.parametrize(
    ("expiry", "earned", "expires"),
    [
        pytest.param(
            LotExpiry.after_days(365),
            "2028-02-29T10:00:00+08:00",
            "2029-02-28T10:00:00+08:00",
            id="per_lot from 29 February",
        ),
        pytest.param(
            LotExpiry.after_days(365),
            "2027-03-01T10:00:00+08:00",
            "2028-02-29T10:00:00+08:00",
            id="per_lot across 29 February",
        ),
        pytest.param(
            LotExpiry("calendar", timedelta(0), 1, ZoneInfo("UTC")),
            "2027-12-31T23:59:59+00:00",
            "2029-01-01T00:00:00+00:00",
            id="calendar in UTC",
        ),
    ],
)
def test_a_lots_expiry_is_dated_in_one_place(expiry: LotExpiry, earned: str, expires: str) -> None:
    assert expiry.expires_at(at(earned)) == at(expires)


def test_calendar_counts_the_year_in_the_programs_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "program.toml"
    text = program_text('policy = "calendar"\nyears = 0')
    path.write_text(text.replace('"Asia/Shanghai"', '"America/New_York"'), encoding="utf-8")
    expiry = LotExpiry.of(load_program(path))

    assert expiry.expires_at(at("2027-01-01T04:59:59+00:00")) == at("2027-01-01T00:00:00-05:00")
    assert expiry.expires_at(at("2027-01-01T05:00:00+00:00")) == at("2028-01-01T00:00:00-05:00")


# --- the program file -------------------------------------------------------------------------


def test_a_program_with_earning_expiry_days_expires_per_lot_as_before() -> None:
    program = load_program()

    assert program.earning.expiry_days == 365
    assert (program.points_expiry.policy, program.points_expiry.days) == ("per_lot", 365)


@pytest.mark.parametrize("expiry", [ROLLING, CALENDAR, 'policy = "per_lot"\ndays = 30'])
def test_a_program_with_an_expiry_section_reads_back_from_its_json(
    tmp_path: Path, expiry: str
) -> None:
    path = tmp_path / "program.toml"
    path.write_text(program_text(expiry), encoding="utf-8")
    program = load_program(path)

    assert Program.model_validate(program.model_dump(mode="json")) == program, (
        "GET /v1/program's JSON is a program a backtest takes"
    )


@pytest.mark.parametrize(
    ("change", "names"),
    [
        pytest.param(
            lambda text: text + '\n[expiry]\npolicy = "rolling"\ndays = 365\n',
            ["earning.expiry_days and [expiry] both say", "remove earning.expiry_days"],
            id="expiry_days and [expiry] both",
        ),
        pytest.param(
            lambda text: text.replace("expiry_days = 365\n", ""),
            ["must say when points expire", "earning.expiry_days", "[expiry]"],
            id="no expiry at all",
        ),
        pytest.param(
            lambda _: program_text('policy = "calendar"\ndays = 365'),
            ["expiry:", 'policy "calendar" counts whole years', "years = N"],
            id="calendar counted in days",
        ),
        pytest.param(
            lambda _: program_text('policy = "calendar"'),
            ["expiry:", 'policy "calendar" needs years = N'],
            id="calendar without years",
        ),
        pytest.param(
            lambda _: program_text('policy = "rolling"\nyears = 1'),
            ["expiry:", 'policy "rolling" counts days', "days = N"],
            id="rolling counted in years",
        ),
        pytest.param(
            lambda _: program_text('policy = "rolling"'),
            ["expiry:", 'policy "rolling" needs days = N'],
            id="rolling without days",
        ),
        pytest.param(
            lambda _: program_text('policy = "monthly"\ndays = 30'),
            ["expiry.policy", "'per_lot', 'rolling' or 'calendar'"],
            id="a policy that does not exist",
        ),
        pytest.param(
            lambda _: program_text('policy = "per_lot"\ndays = 0'),
            ["expiry.days", "greater than or equal to 1"],
            id="points that expire the day they are earned",
        ),
        pytest.param(
            lambda _: program_text('policy = "calendar"\nyears = 11'),
            ["expiry.years", "less than or equal to 10"],
            id="a calendar expiry too far away",
        ),
        pytest.param(
            lambda _: program_text('policy = "rolling"\ndays = 90\nmonths = 3'),
            ["expiry.months", "Extra inputs are not permitted"],
            id="a key the section does not have",
        ),
    ],
)
def test_a_program_with_bad_expiry_settings_is_refused_saying_what_is_wrong(
    tmp_path: Path, change: Callable[[str], str], names: list[str]
) -> None:
    path = tmp_path / "program.toml"
    path.write_text(change(default_program_path().read_text(encoding="utf-8")), encoding="utf-8")

    with pytest.raises(ProgramError) as refused:
        load_program(path)

    for name in names:
        assert name in str(refused.value)
