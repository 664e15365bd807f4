"""Dead letters, admins only: every service's refused records by topic and reason, one record with
its headers as it came, and replays into the service that refused it (one, or all of a topic and
reason) once the cause is fixed, each with its outcome."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from loyalty_console.auth.csrf import check_csrf
from loyalty_console.auth.operator import Can, CurrentOperator, Operator, require
from loyalty_console.platform.client import SERVICES, Service, gather
from loyalty_console.web import State, flash, formatter, render, take_flash
from loyalty_shared.http.problems import ProblemError

router = APIRouter(prefix="/dead-letters", dependencies=[Depends(check_csrf)])

#: The page's summary covers as long as the services keep dead letters.
SUMMARY_HOURS = 30 * 24


def _admin(operator: Operator) -> None:
    require(Can(operator).administer, "dead letters hold records as they came: admins only")


def _service(name: str) -> Service:
    for service in SERVICES:
        if service == name:
            return service
    raise ProblemError(f"no service {name!r}")


def _filters(service: str, topic: str, code: str) -> tuple[tuple[Service, ...], dict[str, Any]]:
    services = (_service(service),) if service else SERVICES
    return services, {"topic": topic or None, "code": code or None}


@router.get("", include_in_schema=False)
async def dead_letters_page(
    request: Request,
    state: State,
    operator: CurrentOperator,
    service: str = "",
    topic: str = "",
    code: str = "",
    waiting: bool = False,
) -> HTMLResponse:
    _admin(operator)
    services, query = _filters(service, topic, code)
    calls = {
        f"summary:{s}": state.platform.get(
            operator, s, "/v1/dead-letters/summary", {"hours": SUMMARY_HOURS}
        )
        for s in SERVICES
    }
    for s in services:
        calls[f"list:{s}"] = state.platform.get(
            operator,
            s,
            "/v1/dead-letters",
            {**query, "waiting": "true" if waiting else None, "limit": 50},
        )
    answers = await gather(calls)
    summary = [
        {"service": s, **item}
        for s in SERVICES
        if answers[f"summary:{s}"].ok
        for item in answers[f"summary:{s}"].json()["items"]
    ]
    letters = [
        {"service": s, **item}
        for s in services
        if answers[f"list:{s}"].ok
        for item in answers[f"list:{s}"].json()["items"]
    ]
    letters.sort(key=lambda item: str(item["dead_lettered_at"]), reverse=True)
    missing = [(s, answers[f"summary:{s}"]) for s in SERVICES if not answers[f"summary:{s}"].ok]
    return render(
        request,
        state,
        "dead_letters/dead_letters.html",
        operator=operator,
        summary=sorted(summary, key=lambda r: (-r["count"], r["service"], r["topic"])),
        letters=letters[:100],
        missing=missing,
        services=SERVICES,
        chosen={"service": service, "topic": topic, "code": code, "waiting": waiting},
        flash=take_flash(request),
    )


@router.get("/{service}/{dead_letter_id}", include_in_schema=False)
async def dead_letter(
    request: Request, state: State, operator: CurrentOperator, service: str, dead_letter_id: int
) -> HTMLResponse:
    _admin(operator)
    answer = await state.platform.get(
        operator, _service(service), f"/v1/dead-letters/{dead_letter_id}"
    )
    value = answer.json().get("value") if answer.ok else None
    return render(
        request,
        state,
        "dead_letters/dead_letter.html",
        operator=operator,
        service=service,
        letter=answer,
        pretty=_pretty(value),
        flash=take_flash(request),
    )


def _pretty(value: str | None) -> str | None:
    """The record's value indented when it is JSON, as it came otherwise."""
    if value is None:
        return None
    try:
        return orjson.dumps(orjson.loads(value), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return value


@router.post("/{service}/{dead_letter_id}/replay", include_in_schema=False)
async def replay_one(
    request: Request, state: State, operator: CurrentOperator, service: str, dead_letter_id: int
) -> Response:
    _admin(operator)
    answer = await state.platform.post(
        operator, _service(service), f"/v1/dead-letters/{dead_letter_id}/replay"
    )
    fmt = formatter(request, state.settings)
    if answer.ok:
        result = answer.json()
        message = fmt.t(f"dlq.outcome_{result['outcome']}", detail=result.get("detail") or "")
        flash(request, result["outcome"] in ("applied", "duplicate"), message)
    else:
        flash(request, False, fmt.t("action.failed", detail=answer.detail))
    return RedirectResponse(f"/dead-letters/{service}/{dead_letter_id}", status_code=303)


@router.post("/replay", include_in_schema=False)
async def replay_all(
    request: Request,
    state: State,
    operator: CurrentOperator,
    service: Annotated[str, Form(max_length=32)] = "",
    topic: Annotated[str, Form(max_length=249)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    _admin(operator)
    services, query = _filters(service, topic, code)
    if not confirmed:
        return render(
            request,
            state,
            "dead_letters/replay_all.html",
            operator=operator,
            chosen={"service": service, "topic": topic, "code": code},
        )
    body = {k: v for k, v in query.items() if v}
    answers = await gather(
        {s: state.platform.post(operator, s, "/v1/dead-letters/replay", body) for s in services}
    )
    fmt = formatter(request, state.settings)
    outcomes: dict[str, int] = {}
    failed = [s for s, a in answers.items() if not a.ok]
    for answer in answers.values():
        if answer.ok:
            for outcome, count in answer.json()["outcomes"].items():
                outcomes[outcome] = outcomes.get(outcome, 0) + count
    described = ", ".join(
        f"{fmt.t('dlq.outcome_' + k + '_short')} {n}" for k, n in outcomes.items()
    )
    message = fmt.t("dlq.replayed_all", outcomes=described or "0")
    if failed:
        message += " " + fmt.t("dlq.replay_failed_in", services=", ".join(failed))
    flash(request, not failed, message)
    return RedirectResponse(
        f"/dead-letters?service={service}&topic={topic}&code={code}", status_code=303
    )
