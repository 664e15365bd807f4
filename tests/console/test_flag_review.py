"""A member flagged by the program's abuse thresholds, on the member page: the flag and the points
it holds, and for support and admin a release or a void, reviewed first, then made once with the
operator's own token and one Idempotency-Key however often the confirmation is sent."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.console.conftest import console, console_settings, csrf_in, sign_in
from tests.console.fake_services import FakeServices, fake_services

REVIEW = "/v1/members/m-1/review"


@pytest.fixture
async def fake() -> AsyncIterator[FakeServices]:
    async with fake_services() as services:
        yield services


@pytest.fixture
async def client(fake: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    urls = {f"console_{s}_url": fake.url for s in ("points", "tiers", "notifications", "feedback")}
    async with console(console_settings(**urls)) as c:
        yield c


async def post(client: httpx.AsyncClient, page_text: str, **fields: Any) -> httpx.Response:
    return await client.post(
        "/members/m-1/review", data={"csrf_token": csrf_in(page_text), **fields}
    )


@pytest.mark.parametrize("role", ["support", "admin"])
async def test_a_flagged_member_shows_the_flag_the_held_points_and_the_decisions(
    client: httpx.AsyncClient, role: str
) -> None:
    await sign_in(client, role)
    page = html.unescape((await client.get("/members/m-1")).text)
    assert "Flagged for review" in page
    assert "300 points held until a review releases or voids them." in page
    assert "Refunds in 30 days" in page
    assert 'value="release"' in page
    assert 'value="void"' in page


async def test_an_unflagged_member_or_a_service_without_reviews_shows_no_flag(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.missing.add(REVIEW)
    await sign_in(client, "support")
    page = await client.get("/members/m-1")
    assert page.status_code == 200
    assert "Flagged for review" not in page.text


async def test_a_release_is_reviewed_then_made_once_with_one_idempotency_key(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "support", name="agent-7")
    page = await client.get("/members/m-1")
    review = await post(
        client, page.text, decision="release", reason="orders checked", points="300"
    )
    assert review.status_code == 200
    assert "Release the 300 points held for m-1?" in html.unescape(review.text)
    assert fake.asked("POST", REVIEW) == [], "nothing before the confirm"

    key = review.text.split('name="key" value="', 1)[1].split('"', 1)[0]
    confirm = {
        "decision": "release",
        "reason": "orders checked",
        "points": "300",
        "key": key,
        "confirmed": "true",
    }
    done = await post(client, review.text, **confirm)
    again = await post(client, review.text, **confirm)  # the confirmation sent twice
    assert (done.status_code, again.status_code) == (303, 303)
    assert fake.asked("POST", REVIEW) == [{"decision": "release", "reason": "orders checked"}] * 2
    assert fake.idempotency_keys == [f"console-{key}"] * 2, "the service decides once"
    assert "Released: the held points mature as usual." in (await client.get("/members/m-1")).text


async def test_marketing_and_finance_may_not_review(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    for role in ("marketing", "finance"):
        await sign_in(client, role)
        refused = await post(
            client,
            (await client.get("/")).text,
            decision="void",
            reason="not theirs",
            confirmed="true",
        )
        assert refused.status_code == 403, role
    assert fake.asked("POST", REVIEW) == []
