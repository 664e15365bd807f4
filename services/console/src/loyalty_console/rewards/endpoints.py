"""Rewards: the catalogue with the stock left, a new reward, codes uploaded to a pool reward,
and the latest redemptions. Marketing's (and admins'); no member's personal data."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from loyalty_console.auth.csrf import check_csrf
from loyalty_console.auth.operator import Can, CurrentOperator, require
from loyalty_console.platform.client import gather
from loyalty_console.web import State, flash, flash_outcome, formatter, render, take_flash

router = APIRouter(prefix="/rewards", dependencies=[Depends(check_csrf)])

#: At most this many codes per upload (the points service's body limit allows about 2,000).
MAX_CODES = 2000


@router.get("", include_in_schema=False)
async def rewards_page(request: Request, state: State, operator: CurrentOperator) -> HTMLResponse:
    require(Can(operator).see_reports, "the rewards catalogue is marketing's")
    answers = await gather(
        {
            "catalogue": state.platform.get(operator, "points", "/v1/rewards", {"limit": 100}),
            "recent": state.platform.get(
                operator, "points", "/v1/reward-redemptions", {"limit": 20}
            ),
        }
    )
    return render(
        request,
        state,
        "rewards/rewards.html",
        operator=operator,
        answers=answers,
        flash=take_flash(request),
    )


@router.post("", include_in_schema=False)
async def create_reward(
    request: Request,
    state: State,
    operator: CurrentOperator,
    reward_id: Annotated[str, Form(min_length=1, max_length=64)],
    name_en: Annotated[str, Form(min_length=1, max_length=200)],
    name_zh: Annotated[str, Form(min_length=1, max_length=200)],
    points: Annotated[int, Form(gt=0)],
    coupon_value: Annotated[str, Form(max_length=20)],
    valid_days: Annotated[int, Form(ge=1, le=3650)],
    codes: Annotated[str, Form(pattern="^(generated|pool)$")] = "generated",
    stock: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    require(Can(operator).see_reports, "the rewards catalogue is marketing's")
    body: dict[str, Any] = {
        "reward_id": reward_id.strip(),
        "name": {"en": name_en.strip(), "zh-CN": name_zh.strip()},
        "points": points,
        "codes": codes,
        "stock": int(stock) if stock.strip() else None,
        "coupon": {"value": coupon_value.strip(), "currency": "CNY", "valid_days": valid_days},
    }
    answer = await state.platform.post(operator, "points", "/v1/rewards", body)
    fmt = formatter(request, state.settings)
    flash_outcome(request, answer, fmt, fmt.t("rewards.created", reward=reward_id))
    return RedirectResponse("/rewards", status_code=303)


@router.post("/{reward_id}/codes", include_in_schema=False)
async def upload_codes(
    request: Request,
    state: State,
    operator: CurrentOperator,
    reward_id: str,
    codes: Annotated[str, Form(max_length=64_000)],
) -> Response:
    """Codes one per line (or separated by commas or spaces), as a partner sends them."""
    require(Can(operator).see_reports, "the rewards catalogue is marketing's")
    listed = [c for c in codes.replace(",", " ").split() if c]
    fmt = formatter(request, state.settings)
    if not listed or len(listed) > MAX_CODES:
        flash(request, False, fmt.t("rewards.codes_count", most=MAX_CODES))
        return RedirectResponse("/rewards", status_code=303)
    answer = await state.platform.post(
        operator, "points", f"/v1/rewards/{quote(reward_id, safe='')}/codes", {"codes": listed}
    )
    flash_outcome(
        request, answer, fmt, fmt.t("rewards.uploaded", count=len(listed), reward=reward_id)
    )
    return RedirectResponse("/rewards", status_code=303)
