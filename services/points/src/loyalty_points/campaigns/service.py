"""Starting, changing and ending campaigns at run time: each checked as a campaign of the program
file would be, with the program and the other campaigns in force, before it is kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from loyalty_points.campaigns import repository
from loyalty_points.campaigns.campaign import RunTimeCampaign, with_campaigns
from loyalty_points.campaigns.repository import CampaignVersion
from loyalty_points.campaigns.schemas import CampaignRequest, CampaignStatus, CampaignView
from loyalty_shared.db import Connection
from loyalty_shared.http.problems import ProblemError
from loyalty_shared.program.schema import Program


class UnknownCampaign(ProblemError):
    status = 404
    title = "No such campaign"
    type = "urn:loyalty:problem:unknown-campaign"


def draft(request: CampaignRequest, version: int | None = None) -> RunTimeCampaign:
    return RunTimeCampaign(
        campaign_id=request.campaign_id,
        version=version,
        multiplier=request.multiplier,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        channels=tuple(request.channels),
        categories=tuple(request.categories),
    )


def program_with(
    program: Program,
    in_force: Sequence[RunTimeCampaign],
    campaign: RunTimeCampaign,
    *,
    at: tuple[str, ...] = ("body",),
) -> Program:
    """The program with `campaign` in place of its namesake among those in force, checked as a
    program file would be: a 422 listing every problem (at `at` in the request) otherwise."""
    others = [c for c in in_force if c.campaign_id != campaign.campaign_id]
    try:
        return with_campaigns(program, [*others, campaign], validate=True)
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {
                    **error,
                    "loc": (*at, "campaign_id"),
                    "msg": f"as a campaign of the program: "
                    f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}",
                }
                for error in exc.errors(include_url=False, include_input=False)
            ]
        ) from None


async def start(
    conn: Connection,
    *,
    request: CampaignRequest,
    program: Program,
    now: datetime,
    actor: str,
) -> tuple[CampaignVersion, bool]:
    """Keep the campaign as a new version (in force from `now`); returns it and whether it is
    new (False: the version in force already says the same, nothing was written)."""
    if request.ends_at <= now:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "ends_at"),
                    "msg": "must be in the future: a campaign applies to purchases processed "
                    "while it is in force",
                }
            ]
        )
    latest = await repository.lock_latest(conn, request.campaign_id)
    campaign = draft(request)
    if latest is not None and latest.in_force_until is None and _same(latest.campaign, campaign):
        return latest, False
    program_with(program, await repository.in_force(conn, now), campaign)
    return await repository.add_version(conn, campaign, now=now, actor=actor), True


def _same(a: RunTimeCampaign, b: RunTimeCampaign) -> bool:
    return (a.multiplier, a.starts_at, a.ends_at, set(a.channels), set(a.categories)) == (
        b.multiplier,
        b.starts_at,
        b.ends_at,
        set(b.channels),
        set(b.categories),
    )


async def end(
    conn: Connection, campaign_id: str, *, now: datetime, actor: str
) -> tuple[CampaignVersion, bool]:
    """The campaign stops being in force at `now`; returns its latest version and whether this
    call ended it (False: it had ended already)."""
    latest = await repository.lock_latest(conn, campaign_id)
    if latest is None:
        raise UnknownCampaign(f"no campaign {campaign_id!r} was ever started")
    if latest.in_force_until is not None:
        return latest, False
    await repository.end(conn, campaign_id, now=now, actor=actor)
    ended = await repository.lock_latest(conn, campaign_id)
    assert ended is not None
    return ended, True


def status(version: CampaignVersion, now: datetime) -> CampaignStatus:
    if version.in_force_until is not None:
        return "ended" if version.ended_by is not None else "superseded"
    if now < version.starts_at:
        return "scheduled"
    return "running" if now < version.ends_at else "finished"


def view(version: CampaignVersion, now: datetime) -> CampaignView:
    return CampaignView(
        campaign_id=version.campaign_id,
        version=version.version,
        multiplier=str(version.multiplier),
        starts_at=version.starts_at,
        ends_at=version.ends_at,
        channels=version.channels,
        categories=version.categories,
        status=status(version, now),
        in_force_from=version.in_force_from,
        in_force_until=version.in_force_until,
        created_by=version.created_by,
        ended_by=version.ended_by,
    )
