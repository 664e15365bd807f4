"""Paying birthday points: on the member's birthday in the program's time zone (29 February on
28 February in other years), the program's `birthday_points` for the member's tier then, once a
year, in a lot expiring like purchase points, with an `earn` entry and a `birthday.rewarded` for
the birthday message. A tier that earns nothing is decided all the same (0 points, no entry)."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from loyalty_points.birthdays import repository
from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import settle
from loyalty_points.tier_projection.repository import current_tiers
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import BirthdayRewardedV1
from loyalty_shared.program.schema import Program


def birthdays_on(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated on `day`: its own, and 29 February on 28 February
    of a year without one."""
    days = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        days.append((2, 29))
    return days


async def pay_due(conn: Connection, program: Program, now: datetime, limit: int) -> int:
    """A batch of up to `limit` members whose birthday it is, decided; returns how many."""
    today = now.astimezone(ZoneInfo(program.time_zone)).date()
    members = await repository.claim_due(
        conn, days=birthdays_on(today), year=today.year, limit=limit
    )
    if not members:
        return 0
    tiers = await current_tiers(conn, members)
    earning = [m for m in members if program.birthday_bonus(tiers.get(m, program.base_tier.name))]
    await ledger.lock_accounts(conn, earning)
    await settle(conn, earning, now)
    expiry = LotExpiry.of(program)
    expires_at = expiry.expires_at(now)
    for member_id in members:
        tier = tiers.get(member_id, program.base_tier.name)
        points = program.birthday_bonus(tier)
        entry_id = None
        if points:
            entry_id = await ledger.grant(
                conn,
                member_id=member_id,
                points=points,
                earned_at=now,
                expiry=expiry,
                origin="birthday",
                actor="system:birthday",
                details={"birthday": today.year, "tier": tier},
            )
            await emit(
                conn,
                BirthdayRewardedV1(
                    member_id=member_id,
                    year=today.year,
                    tier=tier,
                    points=points,
                    expires_at=expires_at,
                    causation_id=f"birthday:{member_id}:{today.year}",
                ),
            )
        await repository.decided(
            conn, member_id, today.year, tier=tier, points=points, entry_id=entry_id
        )
    return len(members)
