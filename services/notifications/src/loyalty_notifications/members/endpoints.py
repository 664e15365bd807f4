"""GET and PUT /v1/members/{member_id}/preferences."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from loyalty_notifications.members import repository
from loyalty_notifications.members.schemas import (
    Channels,
    Effective,
    Preferences,
    PreferencesUpdate,
    QuietHours,
)
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared import audit_log
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import MemberAccess
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/members/{member_id}/preferences", tags=["preferences"])


async def _read(conn: Connection, member_id: str, settings: NotificationsSettings) -> Preferences:
    contact = await repository.contact(conn, member_id)
    pref = await repository.preference(conn, member_id)
    quiet = None
    if pref is not None and pref["quiet_start"] is not None:
        quiet = QuietHours(start=pref["quiet_start"], end=pref["quiet_end"])
    time_zone = pref["time_zone"] if pref else None
    language = pref["language"] if pref else None
    return Preferences(
        member_id=member_id,
        enrolled=contact is not None,
        channels=Channels(email=pref["email"], sms=pref["sms"], push=pref["push"])
        if pref
        else Channels(),
        quiet_hours=quiet,
        time_zone=time_zone,
        language=language,
        consents=Channels(
            email=contact["consent_email"], sms=contact["consent_sms"], push=contact["consent_push"]
        )
        if contact
        else None,
        effective=Effective(
            time_zone=time_zone or settings.notifications_default_time_zone,
            language=language or (contact["locale"] if contact else "zh-CN"),
        ),
        updated_at=pref["updated_at"] if pref else None,
    )


@router.get(
    "",
    summary="A member's message preferences, consents and what applies",
    description="A member who never set any has every channel on and no quiet hours.",
    responses=problem_responses(401, 403),
)
async def get_preferences(
    member_id: str, _: AuditedMemberRead, conn: ReadOnly, request: Request
) -> Preferences:
    return await _read(conn, member_id, request.app.state.settings)


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
    request: Request,
) -> Preferences:
    await repository.put_preference(
        conn,
        member_id=member_id,
        email=body.channels.email,
        sms=body.channels.sms,
        push=body.channels.push,
        quiet_start=body.quiet_hours.start if body.quiet_hours else None,
        quiet_end=body.quiet_hours.end if body.quiet_hours else None,
        time_zone=body.time_zone,
        language=body.language,
        now=datetime.now(UTC),
    )
    await audit_log.record_operator(
        conn, principal=principal, action="preferences.update", member_id=member_id
    )
    return await _read(conn, member_id, request.app.state.settings)
