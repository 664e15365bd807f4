"""What erasing a member takes from the notifications service's tables, and what retention
scrubs from everyone's messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty_shared.db import Connection

#: Why a message of an erased member was not sent.
ERASED_REASON = "no-address: the member's contact details were erased"


async def erase(conn: Connection, member_ids: Sequence[str], now: datetime) -> None:
    """Contacts lose name, addresses and birthday (consents and locale stay, and the row: the
    member stays enrolled, so a later message is suppressed at once, for want of an address);
    preferences go; messages still to send are suppressed; every message loses its contents (the
    template variables: survey links, comments, figures); birthday greetings go altogether, as
    their date is the birthday, and so do the birthday gifts kept for them. A message being sent
    right now finishes (its contents are already in the sender's hands)."""
    members = list(member_ids)
    await conn.execute(
        """
        UPDATE member_contact
           SET name = '', email = NULL, phone = NULL, birthday = NULL, erased_at = $2,
               updated_at = $2
         WHERE member_id = ANY($1::text[])
        """,
        members,
        now,
    )
    await conn.execute("DELETE FROM member_preference WHERE member_id = ANY($1::text[])", members)
    await conn.execute("DELETE FROM birthday_gift WHERE member_id = ANY($1::text[])", members)
    await conn.execute(
        """
        DELETE FROM notification
        WHERE member_id = ANY($1::text[]) AND trigger = 'birthday' AND status <> 'sending'
        """,
        members,
    )
    await conn.execute(
        """
        UPDATE notification
           SET status = CASE WHEN status = 'scheduled' THEN 'suppressed' ELSE status END,
               reason = CASE WHEN status = 'scheduled' THEN $2 ELSE reason END,
               payload = '{}', updated_at = $3
         WHERE member_id = ANY($1::text[]) AND (status = 'scheduled' OR payload <> '{}')
        """,
        members,
        ERASED_REASON,
        now,
    )


async def scrub_contents(conn: Connection, *, before: datetime, limit: int) -> int:
    """Up to `limit` finished messages created before `before` lose their contents; returns how
    many (rows another replica is scrubbing are skipped)."""
    done: str = await conn.execute(
        """
        UPDATE notification SET payload = '{}'
        WHERE id = ANY(ARRAY(
            SELECT id FROM notification
            WHERE payload <> '{}' AND created_at < $1
              AND status IN ('sent', 'failed', 'suppressed')
            LIMIT $2 FOR UPDATE SKIP LOCKED
        ))
        """,
        before,
        limit,
    )
    return int(done.split()[-1])


async def scrub_expired_links(conn: Connection, *, now: datetime, limit: int) -> int:
    """Up to `limit` survey invitations whose link has expired lose the link; returns how many.
    One still scheduled is suppressed as expired when due, before anything is rendered."""
    done: str = await conn.execute(
        """
        UPDATE notification SET payload = payload - 'survey_url'
        WHERE id = ANY(ARRAY(
            SELECT id FROM notification
            WHERE payload ? 'survey_url' AND expires_at < $1 AND status <> 'sending'
            LIMIT $2 FOR UPDATE SKIP LOCKED
        ))
        """,
        now,
        limit,
    )
    return int(done.split()[-1])
