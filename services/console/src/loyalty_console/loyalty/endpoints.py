"""Loyalty: the measures the program exists to move, from the feedback service's insight:
repeat-purchase rate and segments, retention by first-purchase month (a cohort heat map), how
CLV is spread, the loyalty index by tier and its trend. Marketing's; nobody is named."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from loyalty_console import charts
from loyalty_console.auth.operator import Can, CurrentOperator, require
from loyalty_console.i18n.formatting import NOTHING, Formatter
from loyalty_console.platform.client import Answer, gather
from loyalty_console.web import State, formatter, render

router = APIRouter(prefix="/loyalty")


@router.get("", include_in_schema=False)
async def loyalty_page(request: Request, state: State, operator: CurrentOperator) -> HTMLResponse:
    require(Can(operator).see_reports, "loyalty reports are marketing's")
    platform = state.platform
    answers = await gather(
        {
            "segments": platform.report(operator, "feedback", "/v1/insights/segments"),
            "retention": platform.report(operator, "feedback", "/v1/insights/retention"),
            "clv": platform.report(operator, "feedback", "/v1/insights/clv"),
            "index": platform.report(operator, "feedback", "/v1/insights/loyalty-index"),
        }
    )
    fmt = formatter(request, state.settings)
    return render(
        request,
        state,
        "loyalty/loyalty.html",
        operator=operator,
        answers=answers,
        figures=_figures(answers, fmt),
    )


def _figures(answers: dict[str, Answer], fmt: Formatter) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    retention = answers["retention"]
    if retention.ok and retention.json()["cohorts"]:
        cohorts = retention.json()["cohorts"]
        width = max(len(c["retention"]) for c in cohorts)
        figures["retention"] = charts.heatmap(
            x=[fmt.t("loyalty.month_n", n=k) for k in range(width)],
            y=[c["cohort"] for c in cohorts],
            z=[c["retention"] + [None] * (width - len(c["retention"])) for c in cohorts],
            label=fmt.t("loyalty.retained"),
        )
    clv = answers["clv"]
    if clv.ok:
        body = clv.json()
        figures["clv"] = charts.histogram_bars(
            [_bucket(b, fmt) for b in body["buckets"]],
            [b["members"] for b in body["buckets"]],
            y_title=fmt.t("overview.members_all"),
            x_title=f"{fmt.t('insight.clv')} ({body['currency']})",
        )
    index = answers["index"]
    if index.ok:
        body = index.json()
        tiers = [t["tier"] for t in body["by_tier"]]
        figures["index_by_tier"] = charts.bars(
            [fmt.t(f"tier.{t}") for t in tiers],
            [(fmt.t("insight.index"), [t["average"] for t in body["by_tier"]])],
            y_title=fmt.t("insight.index"),
        )
        figures["index_by_tier"]["layout"]["showlegend"] = False
        days = sorted({d["day"] for d in body["trend"]})
        average = {(d["day"], d["tier"]): d["average"] for d in body["trend"]}
        figures["index_trend"] = charts.lines(
            days,
            [(fmt.t(f"tier.{t}"), [average.get((d, t)) for d in days]) for t in tiers],
            y_title=fmt.t("insight.index"),
            y_range=(0, 100),
        )
    return figures


def _bucket(bucket: dict[str, Any], fmt: Formatter) -> str:
    low = fmt.num(bucket["low"])
    if bucket["high"] is None:
        return f"{low}+"
    return f"{low}{NOTHING}{fmt.num(bucket['high'])}"
