"""Abuse where it is cheap: an answer in the app about no order needs nothing but a member's
token, so a member answers about no order at most the program's `answers_without_order_per_day`
times a calendar day (its time zone); beyond, 429 with Retry-After until the next day, nothing
stored. Answers about an order are one per order already and not capped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from loyalty_feedback.app import create_app
from loyalty_feedback.settings import FeedbackSettings
from tests.feedback.conftest import Service, bought
from tests.support.apps import client_of, running
from tests.support.clock import ManualClock
from tests.support.tokens import bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the default program's time zone
#: 23:00 in Shanghai: an hour before the member's next calendar day.
LATE = datetime(2026, 3, 10, 23, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(LATE)


@pytest.fixture
async def capped_app(
    feedback_settings: FeedbackSettings, clock: ManualClock
) -> AsyncIterator[FastAPI]:
    async with running(create_app(feedback_settings, clock=clock)) as app:
        yield app


@pytest.fixture
async def api(capped_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(capped_app) as client:
        yield client


async def test_answers_about_no_order_stop_at_the_daily_cap_until_the_next_calendar_day(
    capped_app: FastAPI, api: httpx.AsyncClient, clock: ManualClock
) -> None:
    feedback = Service(capped_app)
    cap = feedback.program.feedback.answers_without_order_per_day
    member = "m-cap1"

    async def answer(score: int, **more: str) -> httpx.Response:
        return await api.post(
            f"/v1/members/{member}/feedback",
            json={"score": score, **more},
            headers=bearer(member),
        )

    for _ in range(cap):
        accepted = await answer(0)
        assert accepted.status_code == 201, accepted.text

    refused = await answer(0)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:loyalty:problem:too-many-answers"
    assert f"at most {cap}" in problem["detail"]
    assert int(refused.headers["retry-after"]) == 3600, "until midnight in the program's zone"
    assert await feedback.count("feedback") == cap, "nothing stored"

    # an order of the member's is still answered: one per order, not under the cap
    await feedback.purchases(bought(member, LATE - timedelta(days=1), order_id="o-cap1"))
    about_an_order = await answer(3, order_id="o-cap1")
    assert about_an_order.status_code == 201, about_an_order.text

    # another member is not under this one's cap
    other = await api.post(
        "/v1/members/m-cap2/feedback", json={"score": 9}, headers=bearer("m-cap2")
    )
    assert other.status_code == 201, other.text

    clock.advance(timedelta(hours=1))  # 00:00 in Shanghai: a new day
    next_day = await answer(0)
    assert next_day.status_code == 201, next_day.text
