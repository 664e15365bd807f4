"""GET and PUT /v1/members/{member_id}/preferences."""

from __future__ import annotations

from fastapi import APIRouter

from loyalty_notifications.members import service
from loyalty_notifications.members.schemas import Preferences, PreferencesUpdate
from loyalty_notifications.state import State
from loyalty_shared import audit_log
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.http.auth import MemberAccess
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/preferences", tags=["preferences"])


@router.get(
    "",
    summary="A member's message preferences, consents and what applies",
    description="A member who never set any has every channel on and no quiet hours.",
    responses=problem_responses(401, 403),
)
async def get_preferences(
    member_id: str, _: AuditedMemberRead, conn: ReadOnly, state: State
) -> Preferences:
    return await service.preferences_of(
        conn, member_id, default_time_zone=state.settings.notifications_default_time_zone
    )


@router.put(
    "",
    summary="Set a member's channels, quiet hours, time zone and language",
    description=(
        "Replaces the whole set. A channel is used only when the member both consented to it "
        "with the shop and left it on here. Messages due in quiet hours wait until they end."
    ),
    responses=problem_responses(401, 403),
)
async def put_preferences(
    member_id: str,
    body: PreferencesUpdate,
    principal: MemberAccess,
    conn: Transaction,
    state: State,
) -> Preferences:
    preferences = await service.set_preferences(
        conn,
        member_id,
        body,
        default_time_zone=state.settings.notifications_default_time_zone,
        now=state.clock(),
    )
    await audit_log.record_operator(
        conn, principal=principal, action="preferences.update", member_id=member_id
    )
    return preferences
