"""The verdict: every member as the services report it against the oracle, the feedback
summary against the answers given, and `loyalty-points audit`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from loyalty_devkit.chaos.cluster import Cluster
from loyalty_devkit.chaos.http import NoAnswer, Services
from loyalty_devkit.chaos.oracle import (
    SERVICES,
    Expected,
    Outcomes,
    check_earn_tiers,
    expected_for,
    identity_left,
    ledger_bonuses,
)
from loyalty_devkit.chaos.report import log
from loyalty_devkit.chaos.workload import MemberPlan, Workload


async def compare_all(services: Services, workload: Workload, outcomes: Outcomes) -> list[str]:
    semaphore = asyncio.Semaphore(12)
    problems: list[str] = []

    async def one(plan: MemberPlan) -> None:
        async with semaphore:
            try:
                actual = await _actual(services, plan.member_id)
                if plan.identity:  # erased: what each service still holds about them
                    actual["exports"] = {
                        s: await services.get(s, f"/v1/members/{plan.member_id}/export")
                        for s in SERVICES
                    }
            except NoAnswer as exc:
                problems.append(f"{plan.member_id}: {exc}")
                return
            problems.extend(_compare(plan, actual, outcomes))

    await asyncio.gather(*(one(p) for p in workload.members.values()))
    _summarise(workload, outcomes)
    scores = [s for scores in outcomes.answers.values() for s in scores]
    summary = await services.get("feedback", "/v1/feedback/summary", days=3650)
    expected = {
        "responses": len(scores),
        "promoters": sum(1 for s in scores if s >= 9),
        "passives": sum(1 for s in scores if 7 <= s <= 8),
        "detractors": sum(1 for s in scores if s <= 6),
    }
    for key, value in expected.items():
        if summary.get(key) != value:
            problems.append(f"feedback summary: {key} expected {value}, got {summary.get(key)}")
    return sorted(problems)


def audit(cluster: Cluster) -> list[str]:
    command = str(Path(sys.executable).with_name("loyalty-points"))
    env = {**cluster.env}
    result = subprocess.run(
        [command, "audit"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    log(f"loyalty-points audit: {last}")
    if result.returncode != 0:
        return [f"loyalty-points audit exit {result.returncode}: {result.stdout[-2000:]}"]
    return []


async def _actual(services: Services, member: str) -> dict[str, Any]:
    s = services
    points = await s.get("points", f"/v1/members/{member}/points")
    ledger = await s.pages("points", f"/v1/members/{member}/points/transactions")
    tier = await s.get("tiers", f"/v1/members/{member}/tier")
    notes = await s.pages("notifications", f"/v1/members/{member}/notifications")
    insight = await s.get("feedback", f"/v1/members/{member}/insight")
    return {
        "points": points,
        "ledger": ledger,
        "tier": tier,
        "notes": notes,
        "insight": insight,
    }


def _compare(plan: MemberPlan, actual: dict[str, Any], outcomes: Outcomes) -> list[str]:
    member = plan.member_id
    assert plan.model is not None
    ledger = actual["ledger"]
    earn_tiers = {
        i["cause"]["order_id"]: i["details"].get("tier")
        for i in ledger
        if i["type"] == "earn" and i["cause"].get("order_id")
    }
    problems = [f"{member}: {p}" for p in check_earn_tiers(plan.model, earn_tiers)]
    e: Expected = expected_for(
        plan.model,
        earn_tiers=earn_tiers,
        redeemed=outcomes.redeemed.get(member, 0),
        adjusted=outcomes.adjusted.get(member, 0),
        answer_scores=outcomes.answers.get(member, []),
        detractor_days=len(outcomes.detractor_days.get(member, ())),
        cancelled=outcomes.cancelled.get(member, 0),
    )

    def check(what: str, expected: object, got: object) -> None:
        if expected != got:
            problems.append(f"{member}: {what} expected {expected}, got {got}")

    points = actual["points"]
    check("available", e.available, points["available"])
    check("pending", e.pending, points["pending"])
    check("lifetime_earned", e.lifetime_earned, points["lifetime_earned"])
    check(
        "ledger sum of available",
        points["available"],
        sum(i["available_delta"] for i in ledger),
    )
    check("ledger sum of pending", points["pending"], sum(i["pending_delta"] for i in ledger))
    # time decides (docs/points.md): the available points by expiry add up to `available`
    check(
        "expiring points",
        max(points["available"], 0),
        sum(lot["points"] for lot in points["expiring"]),
    )
    by_type: dict[str, int] = defaultdict(int)
    for item in ledger:
        by_type[item["type"]] += item["points"]
    for kind, expected in e.ledger.items():
        check(f"ledger {kind} points", expected, by_type.get(kind, 0))
    check("referral and birthday entries", e.bonuses, ledger_bonuses(ledger))
    tier = actual["tier"]
    check("tier", e.tier, tier["tier"])
    check("qualifying_spend", e.qualifying_spend, Decimal(str(tier["qualifying_spend"])))
    causes: dict[str, set[str]] = defaultdict(set)
    for note in actual["notes"]:
        causes[note["type"]].add(note.get("causation_id") or note["id"])
    for trigger, expected in e.notifications.items():
        check(f"notifications {trigger}", expected, len(causes.get(trigger, set())))
    insight = actual["insight"]
    check("feedback orders", e.orders, insight["orders"])
    check("feedback clv", e.clv, Decimal(str(insight["clv"])))
    if plan.identity:
        left = identity_left(plan.identity, actual.get("exports", {}))
        problems += [f"{member}: erased, yet {p}" for p in left]
    return problems


def _summarise(workload: Workload, outcomes: Outcomes) -> None:
    """What the oracle expected over all members: proof that the comparison was not empty."""
    totals: dict[str, int] = defaultdict(int)
    tiers: dict[str, int] = defaultdict(int)
    for plan in workload.members.values():
        assert plan.model is not None
        e = expected_for(
            plan.model,
            earn_tiers={},
            redeemed=outcomes.redeemed.get(plan.member_id, 0),
            adjusted=outcomes.adjusted.get(plan.member_id, 0),
            answer_scores=outcomes.answers.get(plan.member_id, []),
            detractor_days=len(outcomes.detractor_days.get(plan.member_id, ())),
            cancelled=outcomes.cancelled.get(plan.member_id, 0),
        )
        tiers[e.tier] += 1
        totals["available"] += e.available
        totals["pending"] += e.pending
        totals["lifetime"] += e.lifetime_earned
        totals["expired"] -= e.ledger["expire"]
        totals["upgrades"] += e.notifications["tier_upgraded"]
        totals["referral_bonuses"] += e.notifications["referral_rewarded"]
        totals["birthday_bonuses"] += sum(1 for what, _ in e.bonuses if what.startswith("birth"))
        totals["orders"] += e.purchases
    totals["redeemed"] = sum(outcomes.redeemed.values())
    totals["cancelled"] = sum(outcomes.cancelled.values())
    totals["adjusted"] = sum(outcomes.adjusted.values())
    totals["answers"] = sum(len(a) for a in outcomes.answers.values())
    figures = " ".join(f"{k}={v}" for k, v in totals.items())
    erased = sum(1 for p in workload.members.values() if p.identity)
    log(f"oracle (at bronze-first tiers): {figures} tiers={dict(tiers)} erased={erased}")
