"""A member's message preferences: read with what applies to them, and replaced as a whole."""

from __future__ import annotations

from datetime import datetime

from loyalty_notifications.members import repository
from loyalty_notifications.members.schemas import (
    Channels,
    Effective,
    Preferences,
    PreferencesUpdate,
    QuietHours,
)
from loyalty_shared.db import Connection


async def preferences_of(
    conn: Connection, member_id: str, *, default_time_zone: str
) -> Preferences:
    contact = await repository.contact(conn, member_id)
    pref = await repository.preference(conn, member_id)
    quiet = None
    if pref is not None and pref.quiet_start is not None and pref.quiet_end is not None:
        quiet = QuietHours(start=pref.quiet_start, end=pref.quiet_end)
    time_zone = pref.time_zone if pref else None
    language = pref.language if pref else None
    return Preferences(
        member_id=member_id,
        enrolled=contact is not None,
        channels=Channels(email=pref.email, sms=pref.sms, push=pref.push) if pref else Channels(),
        quiet_hours=quiet,
        time_zone=time_zone,
        language=language,
        consents=Channels(
            email=contact.consent_email, sms=contact.consent_sms, push=contact.consent_push
        )
        if contact
        else None,
        effective=Effective(
            time_zone=time_zone or default_time_zone,
            language=language or (contact.locale if contact else "zh-CN"),
        ),
        updated_at=pref.updated_at if pref else None,
    )


async def set_preferences(
    conn: Connection,
    member_id: str,
    body: PreferencesUpdate,
    *,
    default_time_zone: str,
    now: datetime,
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
        now=now,
    )
    return await preferences_of(conn, member_id, default_time_zone=default_time_zone)
