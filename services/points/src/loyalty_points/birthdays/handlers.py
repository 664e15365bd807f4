"""`member.enrolled` / `member.updated` → the birthday's month and day kept (or dropped when the
profile has none). A birthday that is no date refuses the event here (`invalid-birthday`), with
nothing written for it; the rest of the profile is other services'."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from loyalty_points.birthdays import repository
from loyalty_points.birthdays.repository import ProfileBirthday
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import MemberBirthdayV1
from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.kafka.routing import BatchHandler, Refusal

P = TypeVar("P", bound=MemberBirthdayV1)
Then = Callable[[Connection, Sequence[Decoded[P]]], Awaitable[Sequence[Refusal]]]


async def _no_more(conn: Connection, events: Sequence[Decoded[P]]) -> Sequence[Refusal]:
    return ()


def profile_handler(clock: Clock, then: Then[P] | None = None) -> BatchHandler[P]:
    """Keeps the birthdays of the events, then hands the events it took on to `then` (the
    referrals, for an enrolment)."""

    async def on_profiles(conn: Connection, events: Sequence[Decoded[P]]) -> Sequence[Refusal]:
        taken: list[Decoded[P]] = []
        birthdays: list[ProfileBirthday] = []
        refusals: list[Refusal] = []
        for event in events:
            try:
                birthday = event.data.birthday_date()
            except InvalidEvent as error:
                refusals.append(Refusal(event.envelope.id, error))
                continue
            taken.append(event)
            birthdays.append(ProfileBirthday(event.data.member_id, birthday))
        await repository.record(conn, birthdays, clock())
        return [*refusals, *await (then or _no_more)(conn, taken)]

    return on_profiles
