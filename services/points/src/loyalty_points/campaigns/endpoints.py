"""POST /v1/campaigns, GET /v1/campaigns, POST /v1/campaigns/{campaign_id}/end (marketing)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status

from loyalty_points.campaigns import repository, service
from loyalty_points.campaigns.repository import CampaignVersion
from loyalty_points.campaigns.schemas import CampaignPage, CampaignRequest, CampaignView
from loyalty_points.state import State
from loyalty_shared import audit_log
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import MarketingAccess, Principal
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import problem_responses
from loyalty_shared.program.schema import RuleName

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

CampaignId = Annotated[RuleName, Path(description="The campaign's id")]


def _details(version: CampaignVersion) -> dict[str, Any]:
    return {
        "campaign_id": version.campaign_id,
        "version": version.version,
        "multiplier": str(version.multiplier),
        "starts_at": version.starts_at.isoformat(),
        "ends_at": version.ends_at.isoformat(),
        "channels": version.channels,
        "categories": version.categories,
    }


async def _record(conn: Connection, principal: Principal, action: str, v: CampaignVersion) -> None:
    await audit_log.record(conn, principal=principal, action=action, details=_details(v))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Start a campaign, or change one (a new version)",
    description=(
        "A dated bonus rule of the program's kind, checked as a campaign of the program file "
        "would be (with the program and the campaigns in force: a 422 lists every problem). "
        "From now on, purchases processed while it is in force whose `time` is in "
        "[`starts_at`, `ends_at`) earn its bonus, and their ledger entry names it and its "
        "version. Posting a `campaign_id` again makes a new version in force from now (201); "
        "the same as the version in force changes nothing (200). Recorded in the audit log "
        "(`campaign.start`, `campaign.change`)."
    ),
    responses={200: {"model": CampaignView}, **problem_responses(401, 403, 422)},
)
async def start_campaign(
    body: CampaignRequest,
    principal: MarketingAccess,
    conn: Transaction,
    state: State,
    response: Response,
) -> CampaignView:
    now = state.clock()
    version, new = await service.start(
        conn, request=body, program=state.program, now=now, actor=principal.subject
    )
    if new:
        action = "campaign.start" if version.version == 1 else "campaign.change"
        await _record(conn, principal, action, version)
    else:
        response.status_code = status.HTTP_200_OK
    return service.view(version, now)


@router.get(
    "",
    summary="Campaigns started at run time, newest change first, cursor-paged",
    description=(
        "Each campaign's latest version with its status; `versions=all` lists every version "
        "(the ledger names the version a purchase earned under). The program file's own "
        "campaigns are in `GET /v1/program`."
    ),
    responses=problem_responses(401, 403, 422),
)
async def list_campaigns(
    _: MarketingAccess,
    conn: ReadOnly,
    state: State,
    versions: Annotated[
        Literal["latest", "all"], Query(description="`all`: superseded and ended versions too")
    ] = "latest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: PageCursor = None,
) -> CampaignPage:
    rows = await repository.page(
        conn, before_id=before_id(cursor), limit=limit + 1, every_version=versions == "all"
    )
    now = state.clock()
    more = len(rows) > limit
    return CampaignPage(
        items=[service.view(r, now) for r in rows[:limit]],
        next_cursor=str(rows[limit - 1].id) if more else None,
    )


@router.post(
    "/{campaign_id}/end",
    summary="End a campaign now",
    description=(
        "Purchases processed from now on no longer earn it, whatever their `time`; what it "
        "gave stays. Ending one that has ended answers the same. Recorded in the audit log "
        "(`campaign.end`)."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def end_campaign(
    campaign_id: CampaignId, principal: MarketingAccess, conn: Transaction, state: State
) -> CampaignView:
    now = state.clock()
    version, ended = await service.end(conn, campaign_id, now=now, actor=principal.subject)
    if ended:
        await _record(conn, principal, "campaign.end", version)
    return service.view(version, now)
