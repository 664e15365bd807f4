"""GET /v1/feedback/cases and PUT /v1/feedback/cases/{feedback_id} (support): detractor answers
as cases, open, contacted or resolved, and who has each. Comments are personal data: every page
records the members whose comments it showed, every change is in the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_feedback.cases import repository
from loyalty_feedback.cases.schemas import Case, CasePage, CaseState, CaseUpdate
from loyalty_feedback.reporting.params import Days, decode_cursor
from loyalty_feedback.state import State
from loyalty_shared import audit_log
from loyalty_shared.http.auth import SupportAccess
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1/feedback/cases", tags=["cases"])

STATES: tuple[CaseState, ...] = ("open", "contacted", "resolved")


class NoSuchCase(ProblemError):
    status = 404
    title = "No such case"
    type = "urn:loyalty:problem:no-such-case"


@router.get(
    "",
    summary="Detractor answers as cases, newest first, by state (support)",
    description=(
        "Every answer scored 0-6 is a case, `open` until someone changes it. `counts` gives the "
        "cases per state in the period. Cursor-paged."
    ),
    responses=problem_responses(401, 403),
)
async def list_cases(
    principal: SupportAccess,
    conn: Transaction,
    service_state: State,
    state: CaseState | None = None,
    days: Days = 90,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> CasePage:
    since = service_state.clock() - timedelta(days=days)
    before = decode_cursor(cursor) if cursor else None
    rows = await repository.page(conn, since=since, state=state, before=before, limit=limit)
    items = [Case.model_validate(row, from_attributes=True) for row in rows]
    counted = await repository.counts(conn, since=since)
    await audit_log.record_each(
        conn,
        principal=principal,
        action="feedback.comments.read",
        member_ids=sorted({item.member_id for item in items if item.comment}),
    )
    last = items[-1] if len(items) == limit else None
    return CasePage(
        items=items,
        counts={s: counted.get(s, 0) for s in STATES},
        next_cursor=f"{last.answered_at.isoformat()}|{last.feedback_id}" if last else None,
    )


@router.put(
    "/{feedback_id}",
    summary="Take a case, hand it on, mark it contacted or resolved (support)",
    responses=problem_responses(401, 403, 404),
)
async def update_case(
    feedback_id: uuid.UUID,
    body: CaseUpdate,
    principal: SupportAccess,
    conn: Transaction,
    state: State,
) -> Case:
    row = await repository.update(
        conn,
        feedback_id,
        state=body.state,
        assignee=body.assignee,
        by=principal.subject,
        at=state.clock(),
    )
    if row is None:
        raise NoSuchCase(f"no detractor answer {feedback_id}")
    case = Case.model_validate(row, from_attributes=True)
    await audit_log.record(
        conn,
        principal=principal,
        action="feedback.case.update",
        member_id=case.member_id,
        details={"feedback_id": str(feedback_id), "state": case.state, "assignee": case.assignee},
    )
    return case
