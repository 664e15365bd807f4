"""A campaign started at run time, and a program with such campaigns added to its own: the shape
`GET /v1/program` shows and the rules a purchase earns under. How the two combine:
docs/finance.md#campaigns-at-run-time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyalty_points.earning.rules import EarningRules
from loyalty_shared.program.schema import Campaign, Program


@dataclass(frozen=True, slots=True)
class RunTimeCampaign:
    """One version of a campaign started over the API."""

    campaign_id: str
    version: int | None  # None: a draft (a simulation's)
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    channels: tuple[str, ...]
    categories: tuple[str, ...]

    def as_program_campaign(self, time_zone: str) -> Campaign:
        """The program file's shape: local times in the program's time zone, or in UTC where
        the local time would not say the instant exactly (a repeated hour when clocks go back)."""
        zone = _exact_zone(time_zone, self.starts_at, self.ends_at)
        return Campaign.model_validate(
            {
                "name": self.campaign_id,
                "multiplier": self.multiplier,
                "starts": self.starts_at.astimezone(ZoneInfo(zone)).replace(tzinfo=None),
                "ends": self.ends_at.astimezone(ZoneInfo(zone)).replace(tzinfo=None),
                "time_zone": zone,
                "channels": list(self.channels),
                "categories": list(self.categories),
            }
        )


def _exact_zone(name: str, *instants: datetime) -> str:
    zone = ZoneInfo(name)
    for instant in instants:
        local = instant.astimezone(zone).replace(tzinfo=None)
        if local.replace(tzinfo=zone).timestamp() != instant.timestamp():
            return "UTC"
    return name


def with_campaigns(
    program: Program, campaigns: Sequence[RunTimeCampaign], *, validate: bool
) -> Program:
    """`program` with these campaigns added to its own. `validate`: checked as a program file
    would be (pydantic.ValidationError: a name taken twice, ...); the consumer's copy is not
    re-checked, each campaign was when it was created."""
    added = [c.as_program_campaign(program.time_zone) for c in campaigns]
    earning = program.earning.model_copy(update={"campaigns": [*program.earning.campaigns, *added]})
    if not validate:
        return program.model_copy(update={"earning": earning})
    return Program.model_validate({**dict(program), "earning": dict(earning)})


def rules_with(program: Program, campaigns: Sequence[RunTimeCampaign]) -> EarningRules:
    return EarningRules(
        with_campaigns(program, campaigns, validate=False),
        versions={c.campaign_id: c.version for c in campaigns if c.version is not None},
    )
