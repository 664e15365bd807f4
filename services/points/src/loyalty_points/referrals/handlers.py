"""`member.enrolled` with `referred_by` → a referral waiting for the new member's first
purchase; referring oneself earns nothing."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_points.referrals import repository
from loyalty_points.referrals.repository import NewReferral
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import EnrolmentV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.routing import Refusal


async def on_enrolments(
    conn: Connection, events: Sequence[Decoded[EnrolmentV1]]
) -> Sequence[Refusal]:
    await repository.record(
        conn,
        [
            NewReferral(
                referee_id=e.data.member_id,
                referrer_id=e.data.referred_by,
                event_id=e.envelope.id,
                referred_at=e.envelope.time,
            )
            for e in events
            if e.data.referred_by is not None and e.data.referred_by != e.data.member_id
        ],
    )
    return ()
