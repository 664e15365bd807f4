"""The overview: the program's state at a glance, each panel for the roles that may see it
(members, tiers and points flows for marketing; liability for finance; dead letters for admins;
support gets the member search)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from loyalty_console import charts
from loyalty_console.auth.operator import Can, CurrentOperator
from loyalty_console.i18n.formatting import Formatter
from loyalty_console.platform.client import SERVICES, Answer, gather
from loyalty_console.web import State, formatter, render

router = APIRouter()

WEEKS = 12


@router.get("/", include_in_schema=False)
async def overview(request: Request, state: State, operator: CurrentOperator) -> HTMLResponse:
    can, platform = Can(operator), state.platform
    calls = {}
    if can.see_reports:
        calls["members"] = platform.report(operator, "tiers", "/v1/reports/members")
        calls["flow"] = platform.report(
            operator, "points", "/v1/reports/points-flow", {"weeks": WEEKS}
        )
        calls["nps"] = platform.report(
            operator, "feedback", "/v1/feedback/breakdown", {"by": "week", "days": WEEKS * 7}
        )
    if can.see_liability:
        calls["liability"] = platform.report(operator, "points", "/v1/reports/liability")
    if can.administer:
        for service in SERVICES:
            calls[f"dlq:{service}"] = platform.get(
                operator, service, "/v1/dead-letters/summary", {"hours": 24}
            )
    answers = await gather(calls)
    fmt = formatter(request, state.settings)
    return render(
        request,
        state,
        "overview.html",
        operator=operator,
        answers=answers,
        figures=_figures(answers, fmt),
        dead_letters=_dead_letters(answers),
    )


def _figures(answers: dict[str, Answer], fmt: Formatter) -> dict[str, charts.Figure]:
    figures: dict[str, charts.Figure] = {}
    members = answers.get("members")
    if members is not None and members.ok:
        tiers = members.json()["tiers"]
        names = [t["tier"] for t in tiers]
        figures["tiers"] = charts.donut(
            [fmt.t(f"tier.{n}") for n in names],
            [t["members"] for t in tiers],
            charts.tier_colours(names),
        )
    flow = answers.get("flow")
    if flow is not None and flow.ok:
        weeks = flow.json()["items"]
        figures["flow"] = charts.bars(
            [charts.week_label(w["week"]) for w in weeks],
            [
                (fmt.t("points.earned"), [w["earned"] for w in weeks]),
                (fmt.t("points.redeemed"), [w["redeemed"] for w in weeks]),
                (fmt.t("points.expired"), [w["expired"] for w in weeks]),
            ],
            y_title=fmt.t("points.points"),
        )
    nps = answers.get("nps")
    if nps is not None and nps.ok:
        weeks = nps.json()["items"]
        figures["nps"] = charts.line_over_bars(
            [charts.week_label(w["key"]) for w in weeks],
            (fmt.t("nps.nps"), [w["nps"] for w in weeks]),
            (fmt.t("nps.responses"), [w["responses"] for w in weeks]),
            line_title=fmt.t("nps.nps"),
            bar_title=fmt.t("nps.responses"),
        )
    liability = answers.get("liability")
    if liability is not None and liability.ok:
        months = liability.json().get("expiring_by_month", [])
        figures["expiring"] = charts.bars(
            [m["month"] for m in months],
            [(fmt.t("liability.expiring"), [m["points"] for m in months])],
            y_title=fmt.t("points.points"),
        )
    return figures


def _dead_letters(answers: dict[str, Answer]) -> dict[str, Any]:
    """Every service's dead letters of the last day, as rows, and the services that did not say."""
    rows, missing = [], []
    for service in SERVICES:
        answer = answers.get(f"dlq:{service}")
        if answer is None:
            continue
        if answer.ok:
            rows += [{"service": service, **item} for item in answer.json()["items"]]
        else:
            missing.append((service, answer))
    rows.sort(key=lambda r: (-r["count"], r["topic"], r["code"]))
    return {"rows": rows, "missing": missing}
