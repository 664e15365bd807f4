"""CORS for the survey page: a survey link opens a page on the shop's site, which posts the
answer to the API from the browser. Only the origins in LOYALTY_FEEDBACK_CORS_ORIGINS (none by
default) may; a preflight asking to send a bearer token is refused, so no page can use a
member's token through it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from loyalty_feedback.app import create_app
from loyalty_feedback.settings import FeedbackSettings
from tests.support.apps import client_of, running

SURVEY_PAGE = "https://shop.example.com"
ANSWER = "/v1/surveys/not-a-token/answers"


def preflight(origin: str, *, headers: str = "content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


@pytest.fixture
async def api(feedback_settings: FeedbackSettings) -> AsyncIterator[httpx.AsyncClient]:
    settings = feedback_settings.model_copy(update={"feedback_cors_origins": [SURVEY_PAGE]})
    async with running(create_app(settings)) as app, client_of(app) as client:
        yield client


async def test_the_survey_pages_origin_may_post_an_answer_from_the_browser(
    api: httpx.AsyncClient,
) -> None:
    allowed = await api.options(ANSWER, headers=preflight(SURVEY_PAGE))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SURVEY_PAGE
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in allowed.headers

    answer = await api.post(ANSWER, json={"score": 9}, headers={"Origin": SURVEY_PAGE})
    assert answer.status_code == 401, "the forged token is still refused"
    assert answer.headers["access-control-allow-origin"] == SURVEY_PAGE, "the page reads why"


async def test_another_origin_and_a_bearer_token_are_refused(api: httpx.AsyncClient) -> None:
    other = await api.options(ANSWER, headers=preflight("https://evil.example.net"))
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    with_token = await api.options(
        "/v1/members/m-1/feedback", headers=preflight(SURVEY_PAGE, headers="authorization")
    )
    assert with_token.status_code == 400


async def test_no_origin_is_allowed_by_default(feedback_settings: FeedbackSettings) -> None:
    assert feedback_settings.feedback_cors_origins == []
    async with running(create_app(feedback_settings)) as app, client_of(app) as client:
        answer = await client.post(ANSWER, json={"score": 9}, headers={"Origin": SURVEY_PAGE})
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "origin", ["*", "https://shop.example.com/survey", "shop.example.com", "ftp://x.example"]
)
def test_a_setting_that_is_not_an_origin_is_refused_at_start(
    feedback_settings: FeedbackSettings, origin: str
) -> None:
    values = {**feedback_settings.model_dump(), "feedback_cors_origins": [origin]}
    with pytest.raises(ValidationError, match="is not an origin"):
        FeedbackSettings.model_validate(values)
