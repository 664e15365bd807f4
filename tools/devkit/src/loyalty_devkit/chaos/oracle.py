"""What every member's figures must be, from the workload and what the HTTP calls answered.

Computed from the model (model.py), never from the services' code. Three inputs come from the
platform, each checked before it is used:

- `redeemed`/`adjusted`: what the HTTP answers said was spent or granted (201s), per member;
- `answers`: the NPS answers the feedback API took (201), per member;
- `earn_tiers`: the tier each order's earn entry says it earned at (the ledger's details.tier),
  accepted only if it is the tier before or after the member's stretch, old tier first
  (see workload.py on gates); anything else is a mismatch of its own.

Referral and birthday bonuses are the model's (`MemberModel.bonuses`): the ledger must hold
exactly those `earn` entries, each once (`ledger_bonuses` reads them back).

An erased member's figures are expected as if nothing had happened; on top, each service's
export of them must hold nothing of who they were and record the erasure (`identity_left`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from loyalty_devkit.chaos.model import (
    CURRENCY,
    GOODWILL_POINTS,
    RANK,
    MemberModel,
    earn,
    reversed_points,
)


@dataclass
class Outcomes:
    """What the platform answered over HTTP, per member."""

    redeemed: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)
    adjusted: dict[str, int] = field(default_factory=dict)
    answers: dict[str, list[int]] = field(default_factory=dict)  # scores of answers about orders
    #: the days (the program's zone, every member's here) the member answered as a detractor:
    #: customer service hears of a member once a day
    detractor_days: dict[str, set[date]] = field(default_factory=dict)


@dataclass
class Expected:
    available: int = 0
    pending: int = 0
    lifetime_earned: int = 0
    ledger: dict[str, int] = field(default_factory=dict)  # sum of points by entry type
    tier: str = "bronze"
    qualifying_spend: Decimal = Decimal(0)
    notifications: dict[str, int] = field(default_factory=dict)  # count by trigger
    purchases: int = 0
    orders: int = 0
    clv: Decimal = Decimal(0)
    #: the earn entries naming a referral or a birthday, as (what they name, points), sorted
    bonuses: list[tuple[str, int]] = field(default_factory=list)


def check_earn_tiers(model: MemberModel, earn_tiers: dict[str, str]) -> list[str]:
    """Problems with the tiers the ledger says the orders earned at (empty if none)."""
    problems = []
    by_segment: dict[int, list[str]] = {}
    for order_id, order in model.orders.items():
        used = earn_tiers.get(order_id)
        if used is None:
            continue
        allowed = {order.tier_before, order.tier_after}
        if used not in allowed:
            problems.append(
                f"order {order_id} earned at {used}, expected {' or '.join(sorted(allowed))}"
            )
        by_segment.setdefault(order.segment, []).append(used)
    for segment, used_tiers in by_segment.items():
        ranks = [RANK.get(t, -1) for t in used_tiers]
        if ranks != sorted(ranks):
            problems.append(f"stretch {segment}: tiers not monotone in publication order")
    return problems


def expected_for(
    model: MemberModel,
    *,
    earn_tiers: dict[str, str],
    redeemed: int,
    adjusted: int,
    answer_scores: list[int],
    detractor_days: int,
    cancelled: int = 0,
) -> Expected:
    e = Expected()
    earned = reversed_total = expired = 0
    for order_id, order in model.orders.items():
        p = order.purchase
        tier = earn_tiers.get(order_id, order.tier_before)
        if tier not in (order.tier_before, order.tier_after):
            tier = order.tier_before
        points = earn(p.total, p.currency, tier)
        back = reversed_points(points, p.total, order.refunded) if order.refunded else 0
        earned += points
        reversed_total += back
        kept = points - back
        if order.pending:
            e.pending += kept
        else:
            e.available += kept
            if order.old:
                expired += kept
        e.purchases += 1
        refunded = sum(
            (r.amount for r in model.feedback_refunds.values() if r.order_id == order_id),
            Decimal(0),
        )
        if p.total == 0 or refunded < p.total:
            e.orders += 1
        if p.currency == CURRENCY:
            e.clv += p.total - refunded
    goodwill = GOODWILL_POINTS if any(score <= 6 for score in answer_scores) else 0
    e.bonuses = model.bonuses()
    granted = model.action_points + sum(points for _, points in e.bonuses)
    e.available += -expired - redeemed + cancelled + adjusted + goodwill + granted
    e.lifetime_earned = earned - reversed_total + adjusted + goodwill + granted
    e.ledger = {
        "earn": earned + granted,
        "reverse": -reversed_total,
        "expire": -expired,
        "redeem": -redeemed,
        "redeem_cancel": cancelled,
        "adjust": adjusted + goodwill,
    }
    e.tier = model.tier
    e.qualifying_spend = model.spend
    e.notifications = {
        "tier_upgraded": model.upgrades,
        "tier_downgraded": 0,
        "detractor_alert": detractor_days,
        "referral_rewarded": len(model.referrals),
    }
    return e


def ledger_bonuses(ledger: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """The member's earn entries naming a referral or a birthday, in the form of
    `Expected.bonuses` (from the transactions API's items)."""
    found = []
    for item in ledger:
        details = item.get("details") or {}
        if item["type"] != "earn":
            continue
        if "referral" in details:
            found.append(
                (f"referral of {details['referral']} by {details.get('referrer')}", item["points"])
            )
        elif "birthday" in details:
            what = f"birthday {details['birthday']} at {details.get('tier')}"
            found.append((what, item["points"]))
    return sorted(found)


SERVICES = ("points", "tiers", "notifications", "feedback")


def identity_left(identity: tuple[str, ...], exports: Mapping[str, Any]) -> list[str]:
    """Problems with an erased member's exports (`GET /v1/members/{id}/export` per service):
    every service must hold none of `identity` and list the erasure it applied."""
    problems = []
    for service in SERVICES:
        export = exports.get(service)
        if not isinstance(export, dict):
            problems.append(f"no export from {service}")
            continue
        text = orjson.dumps(export).decode()
        problems += [f"{service} still holds {what!r}" for what in identity if what in text]
        if not export.get("erasures"):
            problems.append(f"{service} records no erasure")
    return problems
