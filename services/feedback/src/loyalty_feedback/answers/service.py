"""Taking an answer: check the order, store it once, emit `feedback.received` and, for a
detractor the program compensates, `feedback.goodwill_granted`, all in the caller's transaction.

Ids are stable: an answer through a survey link is named after its invitation, and the events
after the answer, so a relay that publishes twice publishes the same ids (consumers dedupe).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from loyalty_feedback.answers import repository
from loyalty_feedback.answers.errors import (
    AlreadyAnswered,
    InvitationNotFound,
    TooManyAnswers,
    UnknownOrder,
)
from loyalty_feedback.answers.schemas import Feedback, FeedbackCreate, SurveyAnswer
from loyalty_feedback.events import derived_id, emit
from loyalty_feedback.invitations.repository import invitation as find_invitation
from loyalty_feedback.invitations.tokens import SurveyClaims
from loyalty_feedback.tier_projection.repository import tier_of
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import FeedbackReceivedV1, GoodwillGrantedV1, PlatformEvent
from loyalty_shared.program.schema import Program

Category = Literal["promoter", "passive", "detractor"]


def category(score: int) -> Category:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


async def answer_in_app(
    conn: Connection, program: Program, *, member_id: str, body: FeedbackCreate, now: datetime
) -> Feedback:
    await repository.lock_member(conn, member_id)
    channel = invitation_id = None
    if body.order_id is None:
        await _within_the_daily_cap(conn, program, member_id, now)
    else:
        order = await repository.order_of(conn, member_id, body.order_id)
        if order is None:
            raise UnknownOrder(
                f"order_id {body.order_id!r} is not an order of member {member_id!r} that the "
                "platform has seen"
            )
        channel, invitation_id = order.channel, order.invitation_id
    return await _store(
        conn,
        program,
        feedback_id=uuid.uuid4(),
        member_id=member_id,
        invitation_id=invitation_id,
        order_id=body.order_id,
        channel=channel,
        body=body,
        source="app",
        now=now,
    )


async def _within_the_daily_cap(
    conn: Connection, program: Program, member_id: str, now: datetime
) -> None:
    """Answers about no order are what anyone with an app can send again and again: at most
    `answers_without_order_per_day` a calendar day (the program's time zone) per member."""
    zone = ZoneInfo(program.time_zone)
    today = datetime.combine(now.astimezone(zone).date(), time(), zone)
    cap = program.feedback.answers_without_order_per_day
    if await repository.answers_without_order_since(conn, member_id, today) >= cap:
        tomorrow = datetime.combine(today.date() + timedelta(days=1), time(), zone)
        raise TooManyAnswers(
            f"at most {cap} answers about no order a day; answer about an order, or again tomorrow",
            headers={"Retry-After": str(max(1, math.ceil((tomorrow - now).total_seconds())))},
        )


async def answer_survey(
    conn: Connection, program: Program, *, claims: SurveyClaims, body: SurveyAnswer, now: datetime
) -> Feedback:
    await repository.lock_member(conn, claims.member_id)
    invitation = await find_invitation(conn, claims.invitation_id)
    if (
        invitation is None
        or invitation.member_id != claims.member_id
        or invitation.order_id != claims.order_id
    ):
        raise InvitationNotFound("the survey this link was made for does not exist")
    return await _store(
        conn,
        program,
        feedback_id=derived_id("answer", str(claims.invitation_id)),
        member_id=claims.member_id,
        invitation_id=claims.invitation_id,
        order_id=claims.order_id,
        channel=invitation.channel,
        body=body,
        source="survey",
        now=now,
    )


async def _store(
    conn: Connection,
    program: Program,
    *,
    feedback_id: uuid.UUID,
    member_id: str,
    invitation_id: uuid.UUID | None,
    order_id: str | None,
    channel: str | None,
    body: SurveyAnswer,
    source: str,
    now: datetime,
) -> Feedback:
    tier = await tier_of(conn, member_id) or program.base_tier.name
    stored = await repository.insert_feedback(
        conn,
        feedback_id=feedback_id,
        member_id=member_id,
        invitation_id=invitation_id,
        order_id=order_id,
        channel=channel,
        tier=tier,
        score=body.score,
        csat=body.csat,
        comment=body.comment,
        source=source,
        answered_at=now,
    )
    if not stored:
        raise AlreadyAnswered(
            f"order {order_id!r} already has an answer" if order_id else "already answered"
        )
    kind = category(body.score)
    events: list[PlatformEvent] = [
        FeedbackReceivedV1(
            member_id=member_id,
            feedback_id=str(feedback_id),
            score=body.score,
            csat=body.csat,
            category=kind,
            detractor=kind == "detractor",
            order_id=order_id,
            channel=channel,
            comment=body.comment,
            answered_at=now,
            causation_id=f"feedback:{feedback_id}",
        )
    ]
    goodwill = 0
    settings = program.feedback
    if kind == "detractor" and order_id is not None and settings.goodwill_points > 0:
        granted = await repository.grant_goodwill(
            conn,
            feedback_id=feedback_id,
            member_id=member_id,
            points=settings.goodwill_points,
            now=now,
            since=now - timedelta(days=settings.cooldown_days),
        )
        if granted:
            goodwill = settings.goodwill_points
            events.append(
                GoodwillGrantedV1(
                    member_id=member_id,
                    feedback_id=str(feedback_id),
                    points=goodwill,
                    reason=f"service recovery: score {body.score} for order {order_id}",
                    causation_id=f"feedback:{feedback_id}",
                )
            )
    await emit(conn, *events)
    return Feedback(
        feedback_id=feedback_id,
        member_id=member_id,
        score=body.score,
        category=kind,
        csat=body.csat,
        order_id=order_id,
        channel=channel,
        comment=body.comment,
        answered_at=now,
        goodwill_points=goodwill,
    )
