"""A member as a message sees them: where they can be reached, what they agreed to, when not to
disturb them, in which language and time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Recipient:
    member_id: str
    #: False until a member.enrolled (or member.updated) arrived: no address, no consent.
    enrolled: bool
    name: str
    email: str | None = None
    phone: str | None = None
    locale: str = "zh-CN"
    consents: dict[str, bool] = field(default_factory=dict)
    enabled: dict[str, bool] = field(default_factory=dict)
    quiet_start: time | None = None
    quiet_end: time | None = None
    time_zone: str = "Asia/Shanghai"
    language: str = "zh-CN"
    #: The member's contact details were erased (member.erasure_requested): no address at all.
    erased: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def address(self, channel: str) -> str | None:
        if self.erased:
            return None
        return {"email": self.email, "sms": self.phone, "push": self.member_id}.get(channel)

    def refusal(self, channel: str) -> str | None:
        """Why this member may not be sent a message on `channel` now; None if they may."""
        if not self.enrolled:
            return "not-enrolled"
        if not self.consents.get(channel, False):
            return f"no-consent: the member has not consented to {channel}"
        if not self.enabled.get(channel, True):
            return f"opted-out: the member turned {channel} off"
        if not self.address(channel):
            return f"no-address: the member has no {channel} address"
        return None

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the member's quiet hours if `now` falls inside them, else None."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return None
        local = now.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        start, end = self.quiet_start, self.quiet_end
        inside = start <= clock < end if start < end else clock >= start or clock < end
        if not inside:
            return None
        day = local.date() if clock < end else local.date() + timedelta(days=1)
        return datetime.combine(day, end, tzinfo=self.zone)
