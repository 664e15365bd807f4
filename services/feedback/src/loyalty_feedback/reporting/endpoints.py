"""Admin reports: the NPS summary (contract), breakdowns by tier, channel and ISO week, and
comment search."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_feedback.reporting import repository
from loyalty_feedback.reporting.schemas import (
    CommentHit,
    CommentPage,
    FeedbackSummary,
    NpsBreakdown,
    NpsGroup,
)
from loyalty_feedback.state import State
from loyalty_shared.http.auth import AdminAccess
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1/feedback", tags=["reporting"])

Days = Annotated[int, Query(ge=1, le=3650, description="The last N days of answers")]


class BadCursor(ProblemError):
    status = 422
    title = "Invalid cursor"
    type = "urn:loyalty:problem:invalid-cursor"


def _since(state: State, days: int) -> datetime:
    return state.clock() - timedelta(days=days)


@router.get(
    "/summary",
    summary="NPS over the last N days (admin)",
    description="NPS = % promoters (9-10) - % detractors (0-6) of the answers in the period.",
    responses=problem_responses(401, 403),
)
async def get_summary(
    _: AdminAccess, conn: ReadOnly, state: State, days: Days = 30
) -> FeedbackSummary:
    since = _since(state, days)
    counts = await repository.summary(conn, since)
    return FeedbackSummary(days=days, since=since, **asdict(counts))


@router.get(
    "/breakdown",
    summary="NPS by tier, channel or ISO week over the last N days (admin)",
    description=(
        "`tier` is the member's tier when they answered; `channel` the order's (`unknown` for "
        "answers without an order); `week` the ISO week (UTC) such as `2026-W48`."
    ),
    responses=problem_responses(401, 403),
)
async def get_breakdown(
    _: AdminAccess, conn: ReadOnly, state: State, by: repository.Dimension, days: Days = 90
) -> NpsBreakdown:
    since = _since(state, days)
    groups = await repository.breakdown(conn, since, by)
    items = [NpsGroup.model_validate(group, from_attributes=True) for group in groups]
    return NpsBreakdown(by=by, days=days, since=since, items=items)


@router.get(
    "/comments",
    summary="Answers whose comment contains a text, newest first (admin)",
    description=(
        "Case-insensitive substring match (`ILIKE`), so it works for Chinese, which has no "
        "word breaks: `退款` finds `申请退款很麻烦`. Cursor-paged."
    ),
    responses=problem_responses(401, 403),
)
async def search_comments(
    _: AdminAccess,
    conn: ReadOnly,
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Text to find")],
    days: Days = 365,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> CommentPage:
    before = _decode(cursor) if cursor else None
    comments = await repository.search_comments(
        conn, text=q, since=_since(state, days), before=before, limit=limit
    )
    items = [CommentHit.model_validate(comment, from_attributes=True) for comment in comments]
    last = items[-1] if len(items) == limit else None
    return CommentPage(
        items=items,
        next_cursor=f"{last.answered_at.isoformat()}|{last.feedback_id}" if last else None,
    )


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, feedback_id = cursor.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(feedback_id)
    except ValueError:
        raise BadCursor("the cursor is not one this API returned") from None
