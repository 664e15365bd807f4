"""member.enrolled / member.updated: the member's contacts and consents, replaced as a whole.

Messages that were waiting for the member's enrolment become due at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_notifications.members import repository
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import MemberProfileV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.routing import BatchHandler, Refusal


def profiles_handler(clock: Clock) -> BatchHandler[MemberProfileV1]:
    async def on_profiles(
        conn: Connection, events: Sequence[Decoded[MemberProfileV1]]
    ) -> Sequence[Refusal]:
        profiles = [e.data for e in events]
        now = clock()
        await repository.upsert_profiles(conn, profiles, now)
        await repository.wake_waiting(conn, [p.member_id for p in profiles], now)
        return ()

    return on_profiles
