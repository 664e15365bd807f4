"""Member 360: one member from every service (balance and lots, ledger, tier and its history,
messages, survey answers, segment, rewards, a flag for review and the points it holds, and for
admins the audit log), and the actions an operator's role allows, each reviewed before it is
made: an adjustment, a tier override, a redemption's cancellation, releasing or voiding a
flagged member's held points, an export, an erasure request. The services record each one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from loyalty_console.auth.csrf import check_csrf
from loyalty_console.auth.operator import Can, CurrentOperator, Operator, require
from loyalty_console.i18n.formatting import zone_or
from loyalty_console.platform.client import SERVICES, Answer, Platform, Service, gather
from loyalty_console.web import (
    ConsoleState,
    State,
    flash,
    flash_outcome,
    formatter,
    render,
    take_flash,
)
from loyalty_shared.http.auth import is_member_id
from loyalty_shared.http.problems import ProblemError

router = APIRouter(prefix="/members", dependencies=[Depends(check_csrf)])

LEDGER_PAGE = 20
TIERS = ("bronze", "silver", "gold", "platinum")


def _member(member_id: str) -> str:
    if not is_member_id(member_id):
        raise ProblemError("that is not a member id")
    return member_id


def _path(member_id: str) -> str:
    return f"/members/{quote(member_id, safe='')}"


@router.get("", include_in_schema=False)
async def find(
    request: Request,
    state: State,
    operator: CurrentOperator,
    id: str = "",
) -> Response:
    require(Can(operator).see_members)
    wanted = id.strip()
    if wanted and is_member_id(wanted):
        return RedirectResponse(_path(wanted), status_code=303)
    return render(request, state, "members/find.html", operator=operator, asked=wanted)


async def _ledger(
    platform: Platform, operator: Operator, member_id: str, cursor: str | None
) -> Answer:
    return await platform.get(
        operator,
        "points",
        f"/v1/members/{quote(member_id, safe='')}/points/transactions",
        {"limit": LEDGER_PAGE, "cursor": cursor},
    )


@dataclass(frozen=True, slots=True)
class _MemberPage:
    """One member's page as an operator has it: shown (with an action's review on it), in
    parts (its ledger, its audit log), and where an action goes back to with its outcome."""

    request: Request
    state: ConsoleState
    operator: Operator
    member_id: str

    def render(self, template: str, **context: Any) -> HTMLResponse:
        """`template` about the member: the page, or a part of it."""
        return render(
            self.request,
            self.state,
            template,
            operator=self.operator,
            member_id=self.member_id,
            path_of_member=_path(self.member_id),
            **context,
        )

    async def show(self, review: dict[str, Any] | None = None) -> HTMLResponse:
        """The page with what every service holds about the member (and `review`, an action
        to confirm)."""
        require(Can(self.operator).see_members)
        _member(self.member_id)
        answers = await _read_member(self.state.platform, self.operator, self.member_id)
        return self.render(
            "members/member.html",
            answers=answers,
            tiers=TIERS,
            review=review,
            flash=take_flash(self.request),
        )

    async def act(
        self,
        *,
        confirmed: bool,
        review: dict[str, Any],
        call: Callable[[], Awaitable[Answer]],
        done: str,
    ) -> Response:
        """Show the review, or make the call and go back to the member with its outcome."""
        if not confirmed:
            return await self.show(review)
        flash_outcome(
            self.request, await call(), formatter(self.request, self.state.settings), done
        )
        return self.back()

    def back(self) -> RedirectResponse:
        return RedirectResponse(_path(self.member_id), status_code=303)


@router.get("/{member_id}", include_in_schema=False)
async def member(
    request: Request, state: State, operator: CurrentOperator, member_id: str
) -> HTMLResponse:
    return await _MemberPage(request, state, operator, member_id).show()


async def _read_member(platform: Platform, operator: Operator, member_id: str) -> dict[str, Answer]:
    m = f"/v1/members/{quote(member_id, safe='')}"
    calls = {
        "balance": platform.get(operator, "points", f"{m}/points"),
        "lots": platform.get(operator, "points", f"{m}/points/lots"),
        "ledger": _ledger(platform, operator, member_id, None),
        "tier": platform.get(operator, "tiers", f"{m}/tier"),
        "history": platform.get(operator, "tiers", f"{m}/tier/history", {"limit": 10}),
        "messages": platform.get(operator, "notifications", f"{m}/notifications", {"limit": 10}),
        "answers": platform.get(operator, "feedback", f"{m}/feedback", {"limit": 10}),
        "insight": platform.get(operator, "feedback", f"{m}/insight"),
        "rewards": platform.get(operator, "points", f"{m}/reward-redemptions", {"limit": 10}),
        "review": platform.get(operator, "points", f"{m}/review"),
    }
    return await gather(calls)


@router.get("/{member_id}/audit", include_in_schema=False)
async def audit(
    request: Request, state: State, operator: CurrentOperator, member_id: str
) -> HTMLResponse:
    """The four services' audit entries about the member, newest first: loaded after the page
    (htmx), so the member's own data never waits for four audit logs."""
    require(Can(operator).administer, "the audit log is an admin's")
    page = _MemberPage(request, state, operator, _member(member_id))
    calls = {
        service: state.platform.get(
            operator, service, "/v1/audit-log", {"member_id": member_id, "limit": 20}
        )
        for service in SERVICES
    }
    partial = request.headers.get("HX-Request") == "true"
    return page.render(
        "members/_audit.html" if partial else "members/audit_page.html",
        audit=_merged_audit(await gather(calls)),
    )


def _merged_audit(answers: dict[Service, Answer]) -> dict[str, Any]:
    entries, missing = [], []
    for service in SERVICES:
        answer = answers[service]
        if answer.ok:
            entries += [{"service": service, **e} for e in answer.json()["items"]]
        else:
            missing.append((service, answer))
    entries.sort(key=lambda e: str(e["recorded_at"]), reverse=True)
    return {"entries": entries[:30], "missing": missing}


@router.get("/{member_id}/ledger", include_in_schema=False)
async def ledger_page(
    request: Request,
    state: State,
    operator: CurrentOperator,
    member_id: str,
    cursor: str | None = None,
) -> HTMLResponse:
    """One page of the ledger, for htmx to put in place of the one shown (or on its own)."""
    require(Can(operator).see_members)
    page = _MemberPage(request, state, operator, _member(member_id))
    ledger = await _ledger(state.platform, operator, member_id, cursor)
    partial = request.headers.get("HX-Request") == "true"
    return page.render(
        "members/_ledger.html" if partial else "members/ledger_page.html",
        ledger=ledger,
        cursor=cursor,
    )


# ---- actions: each is reviewed first (the same form, `confirmed` unset), then made ----------


@router.post("/{member_id}/adjustments", include_in_schema=False)
async def adjust(
    request: Request,
    state: State,
    operator: CurrentOperator,
    member_id: str,
    points: Annotated[int, Form(ge=-100_000_000, le=100_000_000)],
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    require(Can(operator).adjust)
    page = _MemberPage(request, state, operator, _member(member_id))
    fmt = formatter(request, state.settings)
    return await page.act(
        confirmed=confirmed,
        review={
            "target": f"{_path(member_id)}/adjustments",
            "text": fmt.t("adjust.review", points=fmt.signed(points), member=member_id),
            "fields": {"points": points, "reason": reason},
            "detail": reason,
        },
        call=lambda: state.platform.post(
            operator,
            "points",
            f"/v1/members/{quote(member_id, safe='')}/adjustments",
            {"points": points, "reason": reason},
        ),
        done=fmt.t("adjust.done", points=fmt.signed(points)),
    )


@router.post("/{member_id}/tier", include_in_schema=False)
async def override_tier(
    request: Request,
    state: State,
    operator: CurrentOperator,
    member_id: str,
    tier: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    until: Annotated[str, Form(max_length=16)],
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    require(Can(operator).administer)
    page = _MemberPage(request, state, operator, _member(member_id))
    fmt = formatter(request, state.settings)
    try:  # a datetime-local value, in the operator's zone
        expires = datetime.fromisoformat(until).replace(
            tzinfo=zone_or(request.session.get("tz"), state.settings.console_default_time_zone)
        )
    except ValueError:
        raise ProblemError("the date is not a date") from None
    return await page.act(
        confirmed=confirmed,
        review={
            "target": f"{_path(member_id)}/tier",
            "text": fmt.t(
                "tier.review", tier=fmt.t(f"tier.{tier}"), member=member_id, until=fmt.dt(expires)
            ),
            "fields": {"tier": tier, "reason": reason, "until": until},
            "detail": reason,
        },
        call=lambda: state.platform.put(
            operator,
            "tiers",
            f"/v1/members/{quote(member_id, safe='')}/tier",
            {"tier": tier, "reason": reason, "expires_at": expires.isoformat()},
        ),
        done=fmt.t("tier.done", tier=fmt.t(f"tier.{tier}")),
    )


@router.post("/{member_id}/redemptions/{redemption_id}/cancellation", include_in_schema=False)
async def cancel_redemption(
    request: Request,
    state: State,
    operator: CurrentOperator,
    member_id: str,
    redemption_id: uuid.UUID,
    kind: Annotated[str, Form(pattern="^(points|reward)$")] = "points",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    can = Can(operator)
    require(can.administer if kind == "points" else can.cancel_reward_redemption)
    page = _MemberPage(request, state, operator, _member(member_id))
    fmt = formatter(request, state.settings)
    collection = "redemptions" if kind == "points" else "reward-redemptions"
    return await page.act(
        confirmed=confirmed,
        review={
            "target": f"{_path(member_id)}/redemptions/{redemption_id}/cancellation",
            "text": fmt.t("cancel.review", redemption=str(redemption_id), member=member_id),
            "fields": {"kind": kind},
            "detail": "",
        },
        call=lambda: state.platform.post(
            operator,
            "points",
            f"/v1/members/{quote(member_id, safe='')}/{collection}/{redemption_id}/cancellation",
        ),
        done=fmt.t("cancel.done"),
    )


@router.post("/{member_id}/review", include_in_schema=False)
async def review_flag(
    request: Request,
    state: State,
    operator: CurrentOperator,
    member_id: str,
    decision: Annotated[str, Form(pattern="^(release|void)$")],
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    points: Annotated[int, Form(ge=0)] = 0,
    key: Annotated[str, Form(pattern="^[0-9a-f-]{0,36}$")] = "",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Release or void the points a flagged member's review holds. The review carries one
    Idempotency-Key to its confirmation, so a confirmation sent twice decides once."""
    require(Can(operator).review_flags)
    page = _MemberPage(request, state, operator, _member(member_id))
    fmt = formatter(request, state.settings)
    key = key or str(uuid.uuid4())
    return await page.act(
        confirmed=confirmed,
        review={
            "target": f"{_path(member_id)}/review",
            "text": fmt.t(f"review.review_{decision}", points=fmt.num(points), member=member_id),
            "fields": {"decision": decision, "reason": reason, "points": points, "key": key},
            "detail": reason,
        },
        call=lambda: state.platform.post(
            operator,
            "points",
            f"/v1/members/{quote(member_id, safe='')}/review",
            {"decision": decision, "reason": reason},
            headers={"Idempotency-Key": f"console-{key}"},
        ),
        done=fmt.t(f"review.done_{decision}"),
    )


@router.post("/{member_id}/erasure", include_in_schema=False)
async def request_erasure(
    request: Request,
    state: State,
    operator: CurrentOperator,
    member_id: str,
    typed: Annotated[str, Form(max_length=128)] = "",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    require(Can(operator).administer)
    page = _MemberPage(request, state, operator, _member(member_id))
    fmt = formatter(request, state.settings)
    if confirmed and typed != member_id:
        flash(request, False, fmt.t("erase.mistyped"))
        return page.back()
    return await page.act(
        confirmed=confirmed,
        review={
            "target": f"{_path(member_id)}/erasure",
            "text": fmt.t("erase.review", member=member_id),
            "fields": {},
            "detail": "",
            "type_to_confirm": True,
        },
        call=lambda: state.platform.post(
            operator, "points", f"/v1/members/{quote(member_id, safe='')}/erasure-requests"
        ),
        done=fmt.t("erase.done"),
    )


@router.post("/{member_id}/export", include_in_schema=False)
async def export(
    request: Request,
    state: State,
    operator: CurrentOperator,
    member_id: str,
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Everything the four services hold about the member, in one JSON file (each service's
    export records it)."""
    require(Can(operator).export)
    page = _MemberPage(request, state, operator, _member(member_id))
    fmt = formatter(request, state.settings)
    if not confirmed:
        review = {
            "target": f"{_path(member_id)}/export",
            "text": fmt.t("export.review", member=member_id),
            "fields": {},
            "detail": "",
        }
        return await page.show(review)
    path = f"/v1/members/{quote(member_id, safe='')}/export"
    answers = await gather({s: state.platform.get(operator, s, path) for s in SERVICES})
    if not any(answer.ok for answer in answers.values()):
        first = next(iter(answers.values()))
        reason = fmt.t("export.not_offered") if first.not_offered else first.detail
        flash(request, False, fmt.t("action.failed", detail=reason))
        return page.back()
    document = {
        "member_id": member_id,
        "exported_by": operator.subject,
        "services": {
            s: a.json() if a.ok else {"unavailable": a.detail or a.status}
            for s, a in answers.items()
        },
    }
    name = re.sub(r"[^A-Za-z0-9._-]", "_", member_id)
    return Response(
        orjson.dumps(document, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="member-{name}.json"'},
    )
