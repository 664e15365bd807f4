"""Feedback: for marketing, NPS week by week per tier and per channel; for support, detractor
answers as cases (open, contacted, resolved, who has it). Marketing never sees a comment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from loyalty_console import charts
from loyalty_console.auth.csrf import check_csrf
from loyalty_console.auth.operator import Can, CurrentOperator, require
from loyalty_console.i18n.formatting import Formatter
from loyalty_console.platform.client import Answer, gather
from loyalty_console.web import State, flash_outcome, formatter, render, take_flash

router = APIRouter(prefix="/feedback", dependencies=[Depends(check_csrf)])

WEEKS = 12
STATES = ("open", "contacted", "resolved")


@router.get("", include_in_schema=False)
async def feedback_page(
    request: Request,
    state: State,
    operator: CurrentOperator,
    cases: str = "open",
    cursor: str | None = None,
) -> HTMLResponse:
    can = Can(operator)
    require(can.see_reports or can.see_members, "feedback is marketing's and support's")
    calls = {}
    if can.see_reports:
        for by in ("tier", "channel"):
            calls[by] = state.platform.report(
                operator, "feedback", "/v1/feedback/trend", {"by": by, "weeks": WEEKS}
            )
        calls["summary"] = state.platform.report(
            operator, "feedback", "/v1/feedback/summary", {"days": WEEKS * 7}
        )
    wanted = cases if cases in STATES else None
    if can.see_members:
        calls["cases"] = state.platform.get(
            operator,
            "feedback",
            "/v1/feedback/cases",
            {"state": wanted, "limit": 25, "cursor": cursor},
        )
    answers = await gather(calls)
    fmt = formatter(request, state.settings)
    return render(
        request,
        state,
        "feedback/feedback.html",
        operator=operator,
        answers=answers,
        figures={by: _trend(answers[by], fmt, by) for by in ("tier", "channel") if by in answers},
        shown_state=wanted,
        states=STATES,
        flash=take_flash(request),
    )


def _trend(answer: Answer, fmt: Formatter, by: str) -> charts.Figure | None:
    """One line per tier (or channel): NPS week by week, gaps where nobody answered."""
    if not answer.ok:
        return None
    items = answer.json()["items"]
    weeks = sorted({i["week"] for i in items})
    keys = sorted({i["key"] for i in items})
    nps = {(i["week"], i["key"]): i["nps"] for i in items}
    return charts.lines(
        [charts.week_label(w) for w in weeks],
        [(fmt.t(f"{by}.{k}"), [nps.get((w, k)) for w in weeks]) for k in keys],
        y_title=fmt.t("nps.nps"),
        y_range=(-100, 100),
    )


@router.post("/cases/{feedback_id}", include_in_schema=False)
async def update_case(
    request: Request,
    state: State,
    operator: CurrentOperator,
    feedback_id: str,
    to: Annotated[str, Form(pattern="^(open|contacted|resolved)$")],
    assignee: Annotated[str, Form(max_length=128)] = "",
    back: Annotated[str, Form(max_length=20)] = "open",
) -> Response:
    """Take a case (it becomes yours), hand it back, mark it contacted or resolved."""
    require(Can(operator).see_members, "cases are customer service's")
    body: dict[str, Any] = {"state": to, "assignee": assignee or None}
    answer = await state.platform.put(
        operator, "feedback", f"/v1/feedback/cases/{feedback_id}", body
    )
    fmt = formatter(request, state.settings)
    flash_outcome(request, answer, fmt, fmt.t("cases.updated", state=fmt.t(f"cases.{to}")))
    target = back if back in STATES or back == "all" else "open"
    return RedirectResponse(f"/feedback?cases={target}#cases", status_code=303)
