"""POST /v1/members/{member_id}/feedback (member JWT) and POST /v1/surveys/{token}/answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from loyalty_feedback.answers import repository, service
from loyalty_feedback.answers.schemas import (
    AnsweredFeedback,
    AnsweredFeedbackList,
    Feedback,
    FeedbackCreate,
    SurveyAnswer,
)
from loyalty_feedback.invitations import tokens
from loyalty_feedback.metrics import ANSWERS
from loyalty_feedback.state import State
from loyalty_shared import audit_log
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.auth import MemberAccess
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.problems import problem_response_doc, problem_responses

router = APIRouter(tags=["feedback"])


@router.get(
    "/v1/members/{member_id}/feedback",
    summary="A member's answers, newest first, with their comments and any goodwill granted",
    responses=problem_responses(401, 403),
)
async def list_answers(
    member_id: str,
    _: AuditedMemberRead,
    conn: ReadOnly,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AnsweredFeedbackList:
    rows = await repository.answers_of(conn, member_id, limit)
    return AnsweredFeedbackList(
        member_id=member_id,
        items=[AnsweredFeedback.model_validate(row, from_attributes=True) for row in rows],
    )


@router.post(
    "/v1/members/{member_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    summary="Answer NPS (and CSAT) as a member, optionally about one of their orders",
    description=(
        '`score` is an integer 0-10 (a string such as "9" is refused), `csat` 1-5, `comment` '
        "at most 2,000 characters. `order_id` must be an order of this member the platform has "
        "seen (422 otherwise); an order is answered once (409 the second time). Answers "
        "about no order: at most the program's `answers_without_order_per_day` a calendar "
        "day (429 with `Retry-After` beyond). A detractor (0-6) alerts customer service (at "
        "most once a day per member) and may earn goodwill points (the program's setting)."
    ),
    responses={
        **problem_responses(401, 403, 409, 422),
        429: {
            **problem_response_doc(429, "Too many answers about no order today"),
            "headers": {
                "Retry-After": {
                    "description": "Seconds until the member's next calendar day",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
)
async def give_feedback(
    member_id: str,
    body: FeedbackCreate,
    principal: MemberAccess,
    conn: Transaction,
    state: State,
) -> Feedback:
    answer = await service.answer_in_app(
        conn, state.program, member_id=member_id, body=body, now=state.clock()
    )
    await audit_log.record_operator(
        conn,
        principal=principal,
        action="feedback.answer",
        member_id=member_id,
        details={"feedback_id": str(answer.feedback_id)},
    )
    ANSWERS.labels("app", answer.category).inc()
    return answer


@router.post(
    "/v1/surveys/{token}/answers",
    status_code=status.HTTP_201_CREATED,
    summary="Answer a survey through the link's signed token (no login)",
    description=(
        "The token (from `feedback.requested`) names the member, the invitation and the order. "
        "A forged or altered token is 401, an expired one 410, a second answer 409."
    ),
    responses=problem_responses(401, 404, 409, 410, 422),
)
async def answer_survey(
    token: str, body: SurveyAnswer, conn: Transaction, state: State
) -> Feedback:
    claims = tokens.verify(state.survey_key, token)
    answer = await service.answer_survey(
        conn, state.program, claims=claims, body=body, now=state.clock()
    )
    ANSWERS.labels("survey", answer.category).inc()
    return answer
