"""Campaigns started, changed and ended at run time (contract 5.5): a purchase earns a campaign's
bonus when its `time` is in the campaign's window and it is processed while the campaign is in
force; its ledger entry names the campaign and the version. Each campaign is checked as one of
the program file's would be, every change is a new version kept for the ledger, and every
change is in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_points.settings import PointsSettings
from loyalty_shared.http.auth import MARKETING_SCOPE
from tests.points.conftest import ClockedPoints
from tests.support.events import purchase_data
from tests.support.tokens import bearer

BONUSES = Path(__file__).parent / "programs" / "bonuses.toml"
MARKETING = bearer("analyst-1", scopes=(MARKETING_SCOPE,))
ADMIN = bearer("ops-1", admin=True)
T0 = datetime(2027, 3, 10, 4, 0, tzinfo=UTC)


@pytest.fixture
def points_settings(points_settings: PointsSettings) -> PointsSettings:
    """The program file has campaigns of its own (double-11) and bonus rules."""
    return points_settings.model_copy(update={"program_file": BONUSES})


def campaign(campaign_id: str, starts: datetime, ends: datetime, **more: Any) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        "multiplier": "2",
        **more,
    }


async def start(clocked: ClockedPoints, body: dict[str, Any]) -> httpx.Response:
    return await clocked.api.post("/v1/campaigns", json=body, headers=MARKETING)


async def campaign_lines(clocked: ClockedPoints, member: str) -> list[dict[str, Any]]:
    [earn] = [e for e in await clocked.ledger(member) if e["type"] == "earn"]
    return [line for line in earn["details"]["rules"] if line["rule"].startswith("campaign:")]


async def bought(clocked: ClockedPoints, member: str, *, at: datetime, points: int) -> None:
    """A purchase of CNY 1,000 (1,000 base points) whose `time` is `at`, processed now."""
    await clocked.buy(member, "1000.00", at=at)
    await clocked.credited(member, points)


async def audit(clocked: ClockedPoints) -> list[tuple[str, str, dict[str, Any]]]:
    response = await clocked.api.get("/v1/audit-log", headers=ADMIN)
    return [
        (e["action"], e["actor"], e["details"])
        for e in reversed(response.json()["items"])
        if e["action"].startswith("campaign.")
    ]


async def test_a_campaign_started_and_ended_at_run_time_changes_exactly_the_purchases_in_it(
    clocked: ClockedPoints,
) -> None:
    window = (T0 - timedelta(hours=1), T0 + timedelta(hours=2))
    clocked.clock.set(T0)
    await bought(clocked, "m-8000", at=T0 - timedelta(minutes=30), points=1000)  # before it began

    clocked.clock.set(T0 + timedelta(minutes=1))
    started = await start(clocked, campaign("spring", *window))
    assert started.status_code == 201, started.text
    assert started.json()["version"] == 1
    assert started.json()["status"] == "running"

    clocked.clock.set(T0 + timedelta(minutes=15))
    await bought(clocked, "m-8001", at=T0 + timedelta(minutes=10), points=2000)  # in it
    await bought(clocked, "m-8002", at=T0 - timedelta(hours=2), points=1000)  # before the window

    clocked.clock.set(T0 + timedelta(minutes=30))
    ended = await clocked.api.post("/v1/campaigns/spring/end", headers=MARKETING)
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"

    clocked.clock.set(T0 + timedelta(minutes=40))
    await bought(clocked, "m-8003", at=T0 + timedelta(minutes=20), points=1000)  # after the end

    assert await campaign_lines(clocked, "m-8001") == [
        {
            "rule": "campaign:spring",
            "points": 1000,
            "version": 1,
            "detail": "x2 from 2027-03-10 11:00 to 2027-03-10 14:00 Asia/Shanghai",
        }
    ]
    for member in ("m-8000", "m-8002", "m-8003"):
        assert await campaign_lines(clocked, member) == [], member
    assert [(action, actor) for action, actor, _ in await audit(clocked)] == [
        ("campaign.start", "analyst-1"),
        ("campaign.end", "analyst-1"),
    ]


async def test_a_change_is_a_new_version_and_each_purchase_names_the_version_it_earned_under(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    window = (T0, T0 + timedelta(days=2))
    assert (await start(clocked, campaign("weekend", *window))).status_code == 201
    await bought(clocked, "m-8101", at=T0 + timedelta(minutes=5), points=2000)

    clocked.clock.set(T0 + timedelta(hours=2))
    changed = await start(clocked, campaign("weekend", *window, multiplier="3"))
    assert changed.status_code == 201
    assert changed.json()["version"] == 2
    again = await start(clocked, campaign("weekend", *window, multiplier="3"))
    assert (again.status_code, again.json()["version"]) == (200, 2), "no change, no version"
    await bought(clocked, "m-8102", at=T0 + timedelta(hours=1), points=3000)

    assert [(ln["points"], ln["version"]) for ln in await campaign_lines(clocked, "m-8101")] == [
        (1000, 1)
    ]
    assert [(ln["points"], ln["version"]) for ln in await campaign_lines(clocked, "m-8102")] == [
        (2000, 2)
    ]
    latest = (await clocked.api.get("/v1/campaigns", headers=MARKETING)).json()["items"]
    assert [(c["version"], c["multiplier"], c["status"]) for c in latest] == [(2, "3", "running")]
    every = await clocked.api.get("/v1/campaigns?versions=all", headers=MARKETING)
    assert [(c["version"], c["status"], c["in_force_until"]) for c in every.json()["items"]] == [
        (2, "running", None),
        (1, "superseded", (T0 + timedelta(hours=2)).isoformat().replace("+00:00", "Z")),
    ]
    assert [(action, details["version"]) for action, _, details in await audit(clocked)] == [
        ("campaign.start", 1),
        ("campaign.change", 2),
    ]


async def test_a_campaign_is_checked_as_the_program_files_are_and_a_422_lists_every_problem(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    window = (T0, T0 + timedelta(days=1))
    wrong = await start(
        clocked, campaign("Spring Sale!", *window, multiplier="0.5", channels=["fax"])
    )
    assert wrong.status_code == 422
    assert sorted(e["location"] for e in wrong.json()["errors"]) == [
        "body.campaign_id",
        "body.channels.0",
        "body.multiplier",
    ]

    taken = await start(clocked, campaign("double-11", *window))  # the program file's
    assert taken.status_code == 422
    assert "campaign names must be unique" in taken.text

    over = await start(clocked, campaign("late", T0 - timedelta(days=2), T0 - timedelta(days=1)))
    assert over.status_code == 422
    assert [e["location"] for e in over.json()["errors"]] == ["body.ends_at"]

    backwards = await start(clocked, campaign("backwards", window[1], window[0]))
    assert backwards.status_code == 422

    assert (await clocked.api.get("/v1/campaigns", headers=MARKETING)).json()["items"] == []
    assert await audit(clocked) == []


async def test_ending_a_campaign_twice_answers_the_same_and_an_unknown_one_is_404(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    await start(clocked, campaign("flash", T0, T0 + timedelta(hours=3)))
    clocked.clock.set(T0 + timedelta(hours=1))

    first = await clocked.api.post("/v1/campaigns/flash/end", headers=MARKETING)
    clocked.clock.set(T0 + timedelta(hours=2))
    second = await clocked.api.post("/v1/campaigns/flash/end", headers=MARKETING)
    unknown = await clocked.api.post("/v1/campaigns/nothing/end", headers=MARKETING)

    assert first.json() == second.json()
    assert first.json()["ended_by"] == "analyst-1"
    assert unknown.status_code == 404
    assert [action for action, _, _ in await audit(clocked)] == ["campaign.start", "campaign.end"]


async def test_the_program_in_force_shows_the_campaigns_in_force_in_the_program_files_shape(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    await start(clocked, campaign("spring", T0, T0 + timedelta(days=7), channels=["app"]))

    program = (await clocked.api.get("/v1/program", headers=MARKETING)).json()

    assert program["point_value"] == "0.01"
    assert program["earning"]["campaigns"][-1] == {
        "name": "spring",
        "multiplier": "2",
        "starts": "2027-03-10T12:00:00",
        "ends": "2027-03-17T12:00:00",
        "time_zone": "Asia/Shanghai",
        "channels": ["app"],
        "categories": [],
    }
    assert [c["name"] for c in program["earning"]["campaigns"]] == [
        "double-11",
        "store-beauty-week",
        "spring",
    ]


async def test_a_simulation_tries_a_draft_campaign_without_starting_it(
    clocked: ClockedPoints,
) -> None:
    clocked.clock.set(T0)
    request = {
        "purchase": purchase_data("m-8201", total="1000.00"),
        "time": (T0 + timedelta(hours=1)).isoformat(),
        "campaign": campaign("draft", T0, T0 + timedelta(days=1), multiplier="1.5"),
    }

    simulated = await clocked.api.post("/v1/program/simulate", json=request, headers=MARKETING)

    assert simulated.status_code == 200, simulated.text
    assert simulated.json()["points"] == 1500
    assert [r["rule"] for r in simulated.json()["rules"]] == ["base", "campaign:draft"]
    assert (await clocked.api.get("/v1/campaigns", headers=MARKETING)).json()["items"] == []
