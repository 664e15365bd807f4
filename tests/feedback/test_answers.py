"""Answers: in the app with the member's JWT, or through a survey link's signed token; one per
invitation; bad input refused with a clear message and nothing stored (feedback issue, item 2)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import orjson
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_feedback.invitations import tokens
from loyalty_shared.kafka.topics import LOYALTY_FEEDBACK
from tests.feedback.conftest import Service, bought, first_sampled
from tests.support.kafka import read_events
from tests.support.tokens import bearer

DELAY = timedelta(days=3)


async def invite(feedback: Service, member_id: str, *, sent: datetime | None = None) -> str:
    """A purchase of `member_id` whose invitation was sent at `sent` (now by default): its token."""
    sent = sent or datetime.now(UTC)
    order_id = first_sampled(f"o-{member_id}", feedback.program.feedback.sample_rate)
    await feedback.purchases(bought(member_id, sent - DELAY, order_id=order_id))
    assert await feedback.send(sent) == 1
    [row] = await feedback.fetch(
        "SELECT invitation_id, expires_at FROM invitation WHERE member_id = $1", member_id
    )
    return tokens.issue(
        feedback.key,
        member_id=member_id,
        invitation_id=row["invitation_id"],
        order_id=order_id,
        issued_at=sent,
        expires_at=row["expires_at"],
    )


async def test_a_survey_token_answers_once(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    token = await invite(feedback, "m-a1")

    first = await feedback_api.post(f"/v1/surveys/{token}/answers", json={"score": 9, "csat": 5})
    second = await feedback_api.post(f"/v1/surveys/{token}/answers", json={"score": 2})

    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["member_id"], body["score"], body["category"], body["csat"]) == (
        "m-a1",
        9,
        "promoter",
        5,
    )
    assert body["order_id"].startswith("o-m-a1")
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"
    assert await feedback.count("feedback") == 1
    metrics = (await feedback_api.get("/metrics")).text
    assert 'loyalty_feedback_answers_total{category="promoter",source="survey"}' in metrics
    assert 'loyalty_feedback_invitations_total{outcome="sent"}' in metrics


async def test_a_survey_token_expires(feedback: Service, feedback_api: httpx.AsyncClient) -> None:
    validity = feedback.program.feedback.survey_validity_days
    token = await invite(feedback, "m-a2", sent=datetime.now(UTC) - timedelta(days=validity + 1))

    response = await feedback_api.post(f"/v1/surveys/{token}/answers", json={"score": 9})

    assert response.status_code == 410, response.text
    assert "expired" in response.json()["detail"]
    assert await feedback.count("feedback") == 0


async def test_a_survey_token_cannot_be_forged_or_altered(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    token = await invite(feedback, "m-a3")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-survey-key-" * 3, algorithm="HS256")
    header, _, signature = token.split(".")
    altered_claims = {**claims, "sub": "m-a4"}
    payload = jwt.utils.base64url_encode(orjson.dumps(altered_claims)).decode()
    altered = f"{header}.{payload}.{signature}"

    for bad in (forged, altered, "not-a-token"):
        response = await feedback_api.post(f"/v1/surveys/{bad}/answers", json={"score": 1})
        assert response.status_code == 401, response.text
    assert await feedback.count("feedback") == 0


async def test_a_survey_token_cannot_be_used_for_another_member(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    token = await invite(feedback, "m-a5")
    await invite(feedback, "m-a6")
    claims = tokens.verify(feedback.key, token)
    # even signed with the right key, m-a5's invitation does not answer for m-a6
    other = tokens.issue(
        feedback.key,
        member_id="m-a6",
        invitation_id=claims.invitation_id,
        order_id=claims.order_id,
        issued_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )

    as_other = await feedback_api.post(f"/v1/surveys/{other}/answers", json={"score": 3})
    as_bearer = await feedback_api.post(
        "/v1/members/m-a5/feedback",
        json={"score": 3},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert as_other.status_code == 404, as_other.text
    assert as_bearer.status_code == 401, "a survey token is not an API token"
    assert await feedback.count("feedback") == 0


async def test_a_member_answers_in_the_app_about_their_own_order(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    await feedback.purchases(bought("m-a7", datetime.now(UTC), order_id="o-a7", channel="store"))

    response = await feedback_api.post(
        "/v1/members/m-a7/feedback",
        json={"score": 8, "order_id": "o-a7", "comment": "店员很热情"},
        headers=bearer("m-a7"),
    )
    again = await feedback_api.post(
        "/v1/members/m-a7/feedback",
        json={"score": 10, "order_id": "o-a7"},
        headers=bearer("m-a7"),
    )

    assert response.status_code == 201, response.text
    assert (response.json()["category"], response.json()["channel"]) == ("passive", "store")
    assert again.status_code == 409, "one answer per order"


async def test_only_the_member_or_an_admin_answers_for_a_member(
    feedback_api: httpx.AsyncClient,
) -> None:
    url = "/v1/members/m-a8/feedback"
    assert (await feedback_api.post(url, json={"score": 9})).status_code == 401
    other = await feedback_api.post(url, json={"score": 9}, headers=bearer("m-a9"))
    assert other.status_code == 403
    admin = await feedback_api.post(url, json={"score": 9}, headers=bearer("ops", admin=True))
    assert admin.status_code == 201


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param({"score": 11}, "score", id="score 11"),
        pytest.param({"score": -1}, "score", id="score -1"),
        pytest.param({"score": "9"}, "valid integer", id="9 as a string"),
        pytest.param({"score": 9.0}, "valid integer", id="9.0 as a float"),
        pytest.param({"score": 9, "csat": 6}, "csat", id="csat 6"),
        pytest.param({"score": 9, "comment": "好" * 2001}, "2000", id="a 2001-char comment"),
        pytest.param({"score": 9, "order_id": "o-unknown"}, "o-unknown", id="an unknown order"),
        pytest.param({"score": 9, "order_id": "o-of-b"}, "o-of-b", id="another member's order"),
        pytest.param({}, "score", id="no score"),
    ],
)
async def test_bad_input_is_422_with_a_clear_message_and_stores_nothing(
    feedback: Service, feedback_api: httpx.AsyncClient, body: dict[str, Any], says: str
) -> None:
    await feedback.purchases(
        bought("m-b1", datetime.now(UTC), order_id="o-of-b1"),
        bought("m-b2", datetime.now(UTC), order_id="o-of-b"),
    )

    response = await feedback_api.post(
        "/v1/members/m-b1/feedback", json=body, headers=bearer("m-b1")
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]
    assert await feedback.count("feedback") == 0
    assert await feedback.count("goodwill_grant") == 0


async def test_a_2000_char_comment_in_chinese_is_accepted(
    feedback_api: httpx.AsyncClient, feedback: Service
) -> None:
    response = await feedback_api.post(
        "/v1/members/m-b3/feedback",
        json={"score": 7, "comment": "好" * 2000},
        headers=bearer("m-b3"),
    )

    assert response.status_code == 201, response.text


async def test_an_answer_is_published_as_feedback_received(
    feedback: Service, feedback_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    response = await feedback_api.post(
        "/v1/members/m-b4/feedback", json={"score": 10}, headers=bearer("m-b4")
    )
    assert response.status_code == 201

    [event] = await read_events(broker.bootstrap, LOYALTY_FEEDBACK, expect=1)
    assert event["type"] == "feedback.received"
    assert event["data"]["feedback_id"] == response.json()["feedback_id"]
    assert (event["data"]["category"], event["data"]["detractor"]) == ("promoter", False)
    assert uuid.UUID(event["id"])
