"""Reports: the NPS summary (contract) and breakdowns by tier, channel and ISO week (marketing),
and comment search (support: comments are a member's personal data, each read recorded)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_feedback.reporting import repository
from loyalty_feedback.reporting.params import Days, decode_cursor
from loyalty_feedback.reporting.schemas import (
    CommentHit,
    CommentPage,
    FeedbackSummary,
    NpsBreakdown,
    NpsGroup,
    NpsTrend,
    NpsWeekGroup,
)
from loyalty_feedback.state import State
from loyalty_shared import audit_log
from loyalty_shared.http.auth import MarketingAccess, SupportAccess
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/feedback", tags=["reporting"])


def _since(state: State, days: int) -> datetime:
    return state.clock() - timedelta(days=days)


@router.get(
    "/summary",
    summary="NPS over the last N days (marketing)",
    description="NPS = % promoters (9-10) - % detractors (0-6) of the answers in the period.",
    responses=problem_responses(401, 403),
)
async def get_summary(
    _: MarketingAccess, conn: ReadOnly, state: State, days: Days = 30
) -> FeedbackSummary:
    since = _since(state, days)
    counts = await repository.summary(conn, since)
    return FeedbackSummary(days=days, since=since, **asdict(counts))


@router.get(
    "/breakdown",
    summary="NPS by tier, channel or ISO week over the last N days (marketing)",
    description=(
        "`tier` is the member's tier when they answered; `channel` the order's (`unknown` for "
        "answers without an order); `week` the ISO week (UTC) such as `2026-W48`."
    ),
    responses=problem_responses(401, 403),
)
async def get_breakdown(
    _: MarketingAccess, conn: ReadOnly, state: State, by: repository.Dimension, days: Days = 90
) -> NpsBreakdown:
    since = _since(state, days)
    groups = await repository.breakdown(conn, since, by)
    items = [NpsGroup.model_validate(group, from_attributes=True) for group in groups]
    return NpsBreakdown(by=by, days=days, since=since, items=items)


@router.get(
    "/trend",
    summary="NPS per ISO week by tier or channel over the last N weeks (marketing)",
    description="The trend of each tier (or channel) week by week: the breakdown, per week.",
    responses=problem_responses(401, 403),
)
async def get_trend(
    _: MarketingAccess,
    conn: ReadOnly,
    state: State,
    by: repository.TrendDimension,
    weeks: Annotated[int, Query(ge=1, le=104, description="This week and the N-1 before")] = 12,
) -> NpsTrend:
    today = state.clock().date()
    monday = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    since = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    rows = await repository.weekly_breakdown(conn, since, by)
    items = [NpsWeekGroup.model_validate(row, from_attributes=True) for row in rows]
    return NpsTrend(by=by, weeks=weeks, since=since, items=items)


@router.get(
    "/comments",
    summary="Answers whose comment contains a text, newest first (support)",
    description=(
        "Case-insensitive substring match (`ILIKE`), so it works for Chinese, which has no "
        "word breaks: `退款` finds `申请退款很麻烦`. Cursor-paged. Comments are personal data: "
        "not for marketing (the NPS reports are), and each member whose comments a page shows "
        "is recorded in the audit log (`feedback.comments.read`)."
    ),
    responses=problem_responses(401, 403),
)
async def search_comments(
    principal: SupportAccess,
    conn: Transaction,
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Text to find")],
    days: Days = 365,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> CommentPage:
    before = decode_cursor(cursor) if cursor else None
    comments = await repository.search_comments(
        conn, text=q, since=_since(state, days), before=before, limit=limit
    )
    items = [CommentHit.model_validate(comment, from_attributes=True) for comment in comments]
    await audit_log.record_each(
        conn,
        principal=principal,
        action="feedback.comments.read",
        member_ids=sorted({item.member_id for item in items}),
    )
    last = items[-1] if len(items) == limit else None
    return CommentPage(
        items=items,
        next_cursor=f"{last.answered_at.isoformat()}|{last.feedback_id}" if last else None,
    )
