"""When a lot's points expire, under the program's expiry policy: the one place that dates a lot
(docs/points.md#expiry-policies). The rolling policy's push is `ledger.repository.push_expiries`,
which dates with this too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty_shared.program.schema import ExpiryPolicy, Program


@dataclass(frozen=True, slots=True)
class LotExpiry:
    policy: ExpiryPolicy
    #: `per_lot` and `rolling`: how long points live (after their lot was earned, or after the
    #: member's latest activity)
    lifetime: timedelta
    #: `calendar`: points earned in year Y expire at the end of year Y + `years`, in `zone`
    years: int
    zone: ZoneInfo

    @classmethod
    def of(cls, program: Program) -> LotExpiry:
        expiry = program.points_expiry
        return cls(
            policy=expiry.policy,
            lifetime=timedelta(days=expiry.days or 0),
            years=expiry.years or 0,
            zone=ZoneInfo(program.time_zone),
        )

    @classmethod
    def after_days(cls, days: int) -> LotExpiry:
        """`per_lot` after `days` (the program's `earning.expiry_days`)."""
        return cls(policy="per_lot", lifetime=timedelta(days=days), years=0, zone=ZoneInfo("UTC"))

    @property
    def rolls(self) -> bool:
        """Whether a member's earning or spending pushes the expiry of their other points."""
        return self.policy == "rolling"

    def expires_at(self, earned_at: datetime) -> datetime:
        """When points earned at `earned_at` expire, unless activity pushes them (`rolling`,
        where it is also the expiry an activity at `earned_at` pushes every lot to)."""
        if self.policy == "calendar":
            year = earned_at.astimezone(self.zone).year + self.years + 1
            return datetime(year, 1, 1, tzinfo=self.zone)
        return earned_at + self.lifetime

    @property
    def longest(self) -> timedelta:
        """The longest points wait for their expiry from when they were earned, activity aside."""
        if self.policy == "calendar":
            return timedelta(days=366 * (self.years + 1))
        return self.lifetime
