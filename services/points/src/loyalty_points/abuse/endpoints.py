"""A flagged member's review (support or admin): GET and POST /v1/members/{member_id}/review, and
the flags waiting for one at GET /v1/reviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_points.abuse import repository, service
from loyalty_points.abuse.schemas import (
    FlagPage,
    FlagStatus,
    ListedFlag,
    MemberReview,
    Review,
    ReviewCreate,
)
from loyalty_points.ledger.settlement import settle_if_due
from loyalty_points.spending.http import IdempotencyKey, required
from loyalty_points.state import State
from loyalty_shared import audit_log
from loyalty_shared.http.auth import MemberIdPath, SupportAccess
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import problem_responses

router = APIRouter(tags=["reviews"])

_MEMBER_REVIEW = "/v1/members/{member_id}/review"


@router.get(
    _MEMBER_REVIEW,
    summary="A member's flags and the points held for their review",
    description=(
        "The member's latest flags (the program's `[abuse]` thresholds they went over), newest "
        "first, and the points held since a flag opened: pending, counted in the balance's "
        "`pending`, until a review releases or voids them. Recorded in the audit log "
        "(`member.read`)."
    ),
    responses=problem_responses(401, 403),
)
async def get_review(
    member_id: MemberIdPath, principal: SupportAccess, conn: Transaction, state: State
) -> MemberReview:
    await settle_if_due(conn, member_id, state.clock())
    review = await service.member_review(conn, member_id)
    await audit_log.record(
        conn,
        principal=principal,
        action="member.read",
        member_id=member_id,
        details={"route": f"GET {_MEMBER_REVIEW}"},
    )
    return review


@router.post(
    _MEMBER_REVIEW,
    summary="Release or void the points held for a flagged member's review",
    description=(
        "`release`: the held points mature as usual from now on (at once when their return "
        "window is over) and expire as usual; `void`: they are reversed, one `review_void` "
        "ledger entry per lot. Either closes every open flag of the member. A member with no "
        "open flag is 409 (`not-flagged`). `Idempotency-Key` is required: the same key and "
        "body answer the same review and decide once; another body is 422. Recorded in the "
        "audit log once (`points.review_release`, `points.review_void`)."
    ),
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def review_member(
    member_id: MemberIdPath,
    body: ReviewCreate,
    principal: SupportAccess,
    conn: Transaction,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> Review:
    review, decided_now = await service.decide(
        conn,
        member_id=member_id,
        key=required(idempotency_key),
        request=body,
        actor=f"{principal.role}:{principal.subject}",
        now=state.clock(),
    )
    if decided_now:
        await audit_log.record(
            conn,
            principal=principal,
            action=f"points.review_{review.decision}",
            member_id=member_id,
            details={"review_id": review.id, "points": review.points, "flags": review.flag_ids},
            at=review.decided_at,
        )
    return review


@router.get(
    "/v1/reviews",
    summary="Flags by status, newest first (open: the members waiting for a review)",
    description=(
        "Each flag with its member and the points held for that member now, cursor-paged. "
        "Every member shown is recorded in the audit log (`member.read`)."
    ),
    responses=problem_responses(401, 403, 422),
)
async def list_reviews(
    principal: SupportAccess,
    conn: Transaction,
    status: FlagStatus = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: PageCursor = None,
) -> FlagPage:
    rows = await repository.flag_page(
        conn, status=status, before_id=before_id(cursor), limit=limit + 1
    )
    items = [
        ListedFlag(**service.flag_view(row.flag).model_dump(), held_points=row.held_points)
        for row in rows[:limit]
    ]
    await audit_log.record_each(
        conn,
        principal=principal,
        action="member.read",
        member_ids=sorted({item.member_id for item in items}),
        details={"route": "GET /v1/reviews"},
    )
    more = len(rows) > limit
    return FlagPage(items=items, next_cursor=str(items[-1].id) if more else None)
