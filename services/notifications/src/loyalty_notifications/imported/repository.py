"""SQL of imported contacts: each (source, member) claimed once, and the contacts stored for a
member the service does not know yet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class ImportedContact:
    """What a message needs of a member: a name to greet, addresses, language, consents."""

    source: str
    member_id: str
    name: str
    email: str | None
    phone: str | None
    locale: str
    consent_email: bool
    consent_sms: bool
    consent_push: bool


@dataclass(frozen=True, slots=True)
class Claimed:
    source: str
    member_id: str
    #: False when the service knew the member already (the shop's profile, or an erasure).
    stored: bool


async def import_contacts(
    conn: Connection, rows: Sequence[ImportedContact], now: datetime
) -> list[Claimed]:
    """Claim each row's (source, member); the rows claimed now store their contacts, unless the
    member has contacts already (the shop's member.enrolled or member.updated: newer) or was
    erased (the register keeps erasures, also of members never seen)."""
    claimed = await conn.fetch(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::bool[], $8::bool[], $9::bool[])
                   AS i (source, member_id, name, email, phone, locale, consent_email,
                         consent_sms, consent_push)
        ), claimed AS (
            INSERT INTO imported_contact (source, member_id, imported_at)
            SELECT source, member_id, $10 FROM input ORDER BY member_id
            ON CONFLICT DO NOTHING
            RETURNING source, member_id
        ), stored AS (
            INSERT INTO member_contact (member_id, name, email, phone, locale, consent_email,
                                        consent_sms, consent_push, enrolled_at, updated_at)
            SELECT i.member_id, i.name, i.email, i.phone, i.locale, i.consent_email,
                   i.consent_sms, i.consent_push, $10, $10
            FROM input i JOIN claimed c USING (source, member_id)
            WHERE NOT EXISTS (SELECT 1 FROM member_erasure e WHERE e.member_id = i.member_id)
            ORDER BY i.member_id
            ON CONFLICT (member_id) DO NOTHING
            RETURNING member_id
        )
        SELECT c.source, c.member_id, s.member_id IS NOT NULL AS stored
        FROM claimed c LEFT JOIN stored s USING (member_id)
        """,
        [r.source for r in rows],
        [r.member_id for r in rows],
        [r.name for r in rows],
        [r.email for r in rows],
        [r.phone for r in rows],
        [r.locale for r in rows],
        [r.consent_email for r in rows],
        [r.consent_sms for r in rows],
        [r.consent_push for r in rows],
        now,
    )
    return [Claimed(**row) for row in claimed]
