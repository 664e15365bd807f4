"""Member contacts (from commerce.members) and preferences (from the app)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

import asyncpg

from loyalty_notifications.members.recipient import Recipient
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import MemberProfileV1


@dataclass(frozen=True, slots=True)
class Contact:
    """What the shop told about the member that a preferences read shows."""

    locale: str
    consent_email: bool
    consent_sms: bool
    consent_push: bool


@dataclass(frozen=True, slots=True)
class Preference:
    email: bool
    sms: bool
    push: bool
    quiet_start: time | None
    quiet_end: time | None
    time_zone: str | None
    language: str | None
    updated_at: datetime


async def upsert_profiles(
    conn: Connection, profiles: Sequence[MemberProfileV1], now: datetime
) -> None:
    """The whole profile, replaced: the last of a member's events in the batch wins."""
    latest = {p.member_id: p for p in profiles}
    if not latest:
        return
    members = sorted(latest)
    rows = [latest[m] for m in members]
    await conn.execute(
        """
        INSERT INTO member_contact AS c (member_id, name, email, phone, locale, birthday,
                                         consent_email, consent_sms, consent_push,
                                         enrolled_at, updated_at)
        SELECT *, $10, $10 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                       $5::text[], $6::date[], $7::bool[], $8::bool[],
                                       $9::bool[])
        ON CONFLICT (member_id) DO UPDATE
           SET name = EXCLUDED.name, email = EXCLUDED.email, phone = EXCLUDED.phone,
               locale = EXCLUDED.locale, birthday = EXCLUDED.birthday,
               consent_email = EXCLUDED.consent_email, consent_sms = EXCLUDED.consent_sms,
               consent_push = EXCLUDED.consent_push, updated_at = EXCLUDED.updated_at,
               erased_at = NULL
        """,
        members,
        [p.name for p in rows],
        [str(p.email) if p.email else None for p in rows],
        [p.phone for p in rows],
        [p.locale for p in rows],
        [p.birthday for p in rows],
        [p.consents.email for p in rows],
        [p.consents.sms for p in rows],
        [p.consents.push for p in rows],
        now,
    )


async def recipients(
    conn: Connection, member_ids: Sequence[str], *, default_time_zone: str
) -> dict[str, Recipient]:
    rows = await conn.fetch(
        """
        SELECT m.member_id, c.name, c.email, c.phone, c.locale, c.consent_email, c.consent_sms,
               c.consent_push, p.email AS pref_email, p.sms AS pref_sms, p.push AS pref_push,
               p.quiet_start, p.quiet_end, p.time_zone, p.language, c.erased_at
        FROM unnest($1::text[]) AS m (member_id)
        LEFT JOIN member_contact c ON c.member_id = m.member_id
        LEFT JOIN member_preference p ON p.member_id = m.member_id
        """,
        sorted(set(member_ids)),
    )
    by_id = {r["member_id"]: r for r in rows}
    return {
        m: _recipient(m, by_id.get(m), default_time_zone=default_time_zone) for m in set(member_ids)
    }


def _recipient(member_id: str, row: asyncpg.Record | None, *, default_time_zone: str) -> Recipient:
    """From a `recipients` row (contact and preference columns, either side may be null)."""
    if row is None:
        return Recipient(
            member_id=member_id, enrolled=False, name=member_id, time_zone=default_time_zone
        )
    locale = row["locale"] or "zh-CN"
    return Recipient(
        member_id=member_id,
        enrolled=row["name"] is not None,
        name=row["name"] or member_id,
        email=row["email"],
        phone=row["phone"],
        locale=locale,
        consents={
            "email": bool(row["consent_email"]),
            "sms": bool(row["consent_sms"]),
            "push": bool(row["consent_push"]),
        },
        enabled={
            "email": row["pref_email"] is not False,
            "sms": row["pref_sms"] is not False,
            "push": row["pref_push"] is not False,
        },
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        time_zone=row["time_zone"] or default_time_zone,
        language=row["language"] or locale,
        erased=row["erased_at"] is not None,
    )


async def contact(conn: Connection, member_id: str) -> Contact | None:
    row = await conn.fetchrow(
        """
        SELECT locale, consent_email, consent_sms, consent_push FROM member_contact
        WHERE member_id = $1
        """,
        member_id,
    )
    return Contact(**row) if row else None


async def preference(conn: Connection, member_id: str) -> Preference | None:
    row = await conn.fetchrow(
        """
        SELECT email, sms, push, quiet_start, quiet_end, time_zone, language, updated_at
        FROM member_preference WHERE member_id = $1
        """,
        member_id,
    )
    return Preference(**row) if row else None


async def put_preference(
    conn: Connection,
    *,
    member_id: str,
    email: bool,
    sms: bool,
    push: bool,
    quiet_start: time | None,
    quiet_end: time | None,
    time_zone: str | None,
    language: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO member_preference AS p (member_id, email, sms, push, quiet_start, quiet_end,
                                            time_zone, language, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (member_id) DO UPDATE
           SET email = EXCLUDED.email, sms = EXCLUDED.sms, push = EXCLUDED.push,
               quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
               time_zone = EXCLUDED.time_zone, language = EXCLUDED.language,
               updated_at = EXCLUDED.updated_at
        """,
        member_id,
        email,
        sms,
        push,
        quiet_start,
        quiet_end,
        time_zone,
        language,
        now,
    )


async def wake_waiting(conn: Connection, member_ids: Sequence[str], now: datetime) -> None:
    """Messages that waited for these members' enrolment are due now."""
    await conn.execute(
        """
        UPDATE notification SET due_at = $2, reason = NULL, updated_at = $2
        WHERE member_id = ANY($1::text[]) AND status = 'scheduled'
          AND reason = 'waiting-for-enrolment'
        """,
        list(set(member_ids)),
        now,
    )
