"""GET /v1/members/{member_id}/notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loyalty_notifications.history import repository
from loyalty_notifications.history.schemas import Notification, NotificationPage
from loyalty_notifications.triggers.payloads import STAFF_TRIGGERS
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.db import ReadOnly
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/notifications", tags=["notifications"])


@router.get(
    "",
    summary="A member's messages, newest first, cursor-paged",
    description=(
        "Every message the platform recorded for the member: sent, failed, suppressed (with "
        "the reason) or still scheduled. Alerts to customer service about the member are "
        "listed to operators (support, admin) only."
    ),
    responses=problem_responses(401, 403),
)
async def list_notifications(
    member_id: str,
    principal: AuditedMemberRead,
    conn: ReadOnly,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: PageCursor = None,
) -> NotificationPage:
    rows = await repository.page(
        conn,
        member_id,
        before=before_id(cursor),
        limit=limit + 1,
        staff_triggers=[] if principal.acting_as else sorted(STAFF_TRIGGERS),
    )
    items = [
        Notification(
            id=r.id,
            type=r.trigger,
            channel=r.channel,
            status="scheduled" if r.status == "sending" else r.status,
            reason=r.reason,
            attempts=r.attempts,
            created_at=r.created_at,
            scheduled_for=r.due_at if r.status in ("scheduled", "sending") else None,
            sent_at=r.sent_at,
            failed_at=r.failed_at,
            updated_at=r.updated_at,
            causation_id=r.causation_id,
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return NotificationPage(items=items, next_cursor=str(rows[limit - 1].seq) if more else None)
