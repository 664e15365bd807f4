"""The program: its tiers and rules as the points service runs them, campaigns (create, end),
a purchase simulated rule by rule, and a backtest of a candidate program with points per tier,
current against candidate, on a chart. Marketing's (and admins')."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from loyalty_console import charts
from loyalty_console.auth.csrf import check_csrf
from loyalty_console.auth.operator import Can, CurrentOperator, require
from loyalty_console.i18n.formatting import zone_or
from loyalty_console.platform.client import gather
from loyalty_console.web import (
    ConsoleState,
    State,
    flash_outcome,
    formatter,
    render,
    take_flash,
)
from loyalty_shared.http.problems import ProblemError

router = APIRouter(prefix="/program", dependencies=[Depends(check_csrf)])

CHANNELS = ("online", "store", "app")


def _local(request: Request, state: ConsoleState, value: str) -> datetime:
    """A `datetime-local` value from a form, in the operator's time zone."""
    zone = zone_or(request.session.get("tz"), state.settings.console_default_time_zone)
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone)
    except ValueError:
        raise ProblemError(f"{value!r} is not a date and time") from None


@router.get("", include_in_schema=False)
async def program_page(request: Request, state: State, operator: CurrentOperator) -> HTMLResponse:
    require(Can(operator).see_reports, "the program is marketing's")
    answers = await gather(
        {
            "program": state.platform.get(operator, "points", "/v1/program"),
            "campaigns": state.platform.get(operator, "points", "/v1/campaigns"),
        }
    )
    program = answers["program"]
    tiers = program.json().get("tiers", {}).get("ladder", []) if program.ok else []
    return render(
        request,
        state,
        "program/program.html",
        operator=operator,
        answers=answers,
        tiers=tiers,
        channels=CHANNELS,
        now_local=formatter(request, state.settings).iso(datetime.now(UTC)),
        flash=take_flash(request),
    )


@router.post("/simulation", include_in_schema=False)
async def simulate(
    request: Request,
    state: State,
    operator: CurrentOperator,
    total: Annotated[str, Form(max_length=20)],
    channel: Annotated[str, Form(pattern="^(online|store|app)$")],
    category: Annotated[str, Form(max_length=64)] = "general",
    member_id: Annotated[str, Form(max_length=128)] = "",
    tier: Annotated[str, Form(max_length=32)] = "",
    at: Annotated[str, Form(max_length=16)] = "",
) -> HTMLResponse:
    """What a purchase would earn now (or at `at`), rule by rule: a fragment under the form."""
    require(Can(operator).see_reports, "the program is marketing's")
    moment = _local(request, state, at) if at else datetime.now(UTC)
    body = {
        "purchase": {
            "order_id": f"simulated-{uuid.uuid4().hex[:8]}",
            "member_id": member_id.strip() or "simulated-member",
            "channel": channel,
            "currency": "CNY",
            "total": total,
            "items": [
                {
                    "sku": "simulated",
                    "category": category or "general",
                    "quantity": 1,
                    "unit_price": total,
                }
            ],
        },
        "time": moment.isoformat(),
        **({"tier": tier} if tier else {}),
    }
    answer = await state.platform.post(operator, "points", "/v1/program/simulate", body)
    return render(request, state, "program/_simulation.html", operator=operator, result=answer)


def candidate_program(program: dict[str, Any], multipliers: dict[str, str]) -> dict[str, Any]:
    """The program in force with the tier multipliers the form changed."""
    candidate = copy.deepcopy(program)
    for tier in candidate.get("tiers", {}).get("ladder", []):
        wanted = multipliers.get(tier["name"])
        if wanted:
            try:
                tier["multiplier"] = str(Decimal(wanted))
            except InvalidOperation:
                raise ProblemError(f"{wanted!r} is not a multiplier") from None
    return candidate


@router.post("/backtest", include_in_schema=False)
async def backtest(request: Request, state: State, operator: CurrentOperator) -> HTMLResponse:
    """The purchases of the last N days earned again under a candidate (the current program with
    other tier multipliers): the totals and a chart per tier, current against candidate."""
    require(Can(operator).see_reports, "the program is marketing's")
    form = await request.form()
    try:
        days = int(str(form.get("days", "90")))
    except ValueError:
        raise ProblemError("days must be a whole number") from None
    current = await state.platform.get(operator, "points", "/v1/program")
    answer = current
    if current.ok:
        multipliers = {
            str(k).removeprefix("multiplier:"): str(v)
            for k, v in form.items()
            if str(k).startswith("multiplier:")
        }
        answer = await state.platform.post(
            operator,
            "points",
            "/v1/program/backtest",
            {"program": candidate_program(current.json(), multipliers), "days": days},
        )
    fmt = formatter(request, state.settings)
    figure = None
    if answer.ok:
        by_tier = answer.json()["by_tier"]
        names = list(by_tier)
        figure = charts.bars(
            [fmt.t(f"tier.{n}") for n in names],
            [
                (fmt.t("backtest.current"), [by_tier[n]["points_current"] for n in names]),
                (fmt.t("backtest.candidate"), [by_tier[n]["points_candidate"] for n in names]),
            ],
            y_title=fmt.t("points.points"),
            colours=("#7A8691", "#0072B2"),
        )
    return render(
        request,
        state,
        "program/_backtest.html",
        operator=operator,
        result=answer,
        figure=figure,
        days=days,
    )


@router.post("/campaigns", include_in_schema=False)
async def create_campaign(
    request: Request,
    state: State,
    operator: CurrentOperator,
    campaign_id: Annotated[str, Form(min_length=1, max_length=64)],
    starts_at: Annotated[str, Form(max_length=16)],
    ends_at: Annotated[str, Form(max_length=16)],
    multiplier: Annotated[str, Form(max_length=10)],
    categories: Annotated[str, Form(max_length=500)] = "",
    channels: Annotated[list[str] | None, Form()] = None,
) -> Response:
    require(Can(operator).see_reports, "the program is marketing's")
    fmt = formatter(request, state.settings)
    body: dict[str, Any] = {
        "campaign_id": campaign_id.strip(),
        "starts_at": _local(request, state, starts_at).isoformat(),
        "ends_at": _local(request, state, ends_at).isoformat(),
        "multiplier": multiplier.strip(),
    }
    wanted = [c.strip() for c in categories.split(",") if c.strip()]
    if wanted:
        body["categories"] = wanted
    if channels:
        body["channels"] = [c for c in channels if c in CHANNELS]
    answer = await state.platform.post(operator, "points", "/v1/campaigns", body)
    flash_outcome(request, answer, fmt, fmt.t("campaign.created", campaign=campaign_id))
    return RedirectResponse("/program#campaigns", status_code=303)


@router.post("/campaigns/{campaign_id}/end", include_in_schema=False)
async def end_campaign(
    request: Request,
    state: State,
    operator: CurrentOperator,
    campaign_id: str,
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    require(Can(operator).see_reports, "the program is marketing's")
    fmt = formatter(request, state.settings)
    if not confirmed:
        return render(
            request,
            state,
            "program/end_campaign.html",
            operator=operator,
            campaign_id=campaign_id,
        )
    answer = await state.platform.post(
        operator, "points", f"/v1/campaigns/{quote(campaign_id, safe='')}/end"
    )
    flash_outcome(request, answer, fmt, fmt.t("campaign.ended", campaign=campaign_id))
    return RedirectResponse("/program#campaigns", status_code=303)
