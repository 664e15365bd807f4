"""Action points are quiet unless the program says otherwise (issue 19): an action whose rule has
`notify = true` publishes an `action.rewarded` for the points it earned, once however often the
action comes; an action of a quiet rule publishes none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import LOYALTY_POINTS
from loyalty_shared.program.loader import default_program_path
from tests.points.conftest import ClockedPoints
from tests.points.test_actions import action, took
from tests.support.apps import client_of, on_test_broker, running
from tests.support.clock import ManualClock
from tests.support.kafka import read_events

QUIET_REVIEWS = '[actions."review.written"]\npoints = 20\nper_day = 5\n'
TOLD_REVIEWS = QUIET_REVIEWS + "notify = true\n"


@pytest.fixture
async def telling_reviews(
    new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path
) -> AsyncIterator[ClockedPoints]:
    """The points service under the default program, its reviews told to the member."""
    text = default_program_path().read_text(encoding="utf-8")
    assert QUIET_REVIEWS in text
    program = tmp_path / f"program-{uuid.uuid4().hex[:8]}.toml"
    program.write_text(text.replace(QUIET_REVIEWS, TOLD_REVIEWS), encoding="utf-8")
    settings = PointsSettings(
        points_database_url=new_database("points"),
        program_file=program,
        points_jobs_interval_s=3600,
        **on_test_broker(broker),
    )
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings, clock=clock)
    async with running(app), client_of(app) as api:
        yield ClockedPoints(app, api, clock, broker)


async def test_an_action_the_program_tells_of_publishes_its_points_once(
    telling_reviews: ClockedPoints,
) -> None:
    review = action("m-told", "review.written", action_id="a-told-review")
    await took(telling_reviews, review, review)
    await took(telling_reviews, action("m-told", "store.checkin"))

    told = [
        e
        for e in await read_events(telling_reviews.broker.bootstrap, LOYALTY_POINTS, expect=1)
        if e["type"] == "action.rewarded"
    ]

    assert [(e["data"]["member_id"], e["data"]["action"], e["data"]["points"]) for e in told] == [
        ("m-told", "review.written", 20)
    ], "the check-in's rule is quiet: no event"
    assert told[0]["data"]["action_id"] == "a-told-review"


async def test_the_default_program_keeps_action_points_quiet(clocked: ClockedPoints) -> None:
    await took(clocked, action("m-quiet", "review.written"), action("m-quiet", "store.checkin"))

    assert (await clocked.balance("m-quiet"))["available"] == 25
    assert not [e for e in await clocked.events(expect=1) if e["type"] == "action.rewarded"]
