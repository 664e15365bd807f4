"""Members' contacts from the loyalty system this one replaces, a batch at a time (`loyalty
import members`): stored as a member.enrolled would store them, once per member and source,
recorded in the audit log under the source's name; messages waiting for these members'
enrolment are due at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from loyalty_notifications.imported.repository import Claimed, ImportedContact, import_contacts
from loyalty_notifications.members.repository import wake_waiting
from loyalty_shared import audit_log
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import Principal


async def import_members(
    conn: Connection, rows: Sequence[ImportedContact], *, principal: Principal, now: datetime
) -> list[Claimed]:
    """Import the rows whose (source, member) was not imported before; returns those claimed
    now, each saying whether its contacts were stored. Each member once in `rows`."""
    claimed = await import_contacts(conn, rows, now)
    await wake_waiting(conn, [c.member_id for c in claimed if c.stored], now)
    by_source: defaultdict[str, list[str]] = defaultdict(list)
    for c in claimed:
        by_source[c.source].append(c.member_id)
    for source, members in sorted(by_source.items()):
        await audit_log.record_each(
            conn,
            principal=principal,
            action="member.import",
            member_ids=sorted(members),
            details={"source": source},
            at=now,
        )
    return claimed
