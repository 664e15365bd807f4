"""What members and operators do over HTTP while replicas die: bursts of redemptions with
replayed and conflicting Idempotency-Keys, cancellations, adjustments and survey answers. What
the platform answered becomes the outcomes the oracle expects; a wrong answer is a problem."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty_devkit.chaos.cluster import Cluster
from loyalty_devkit.chaos.config import SECRET, Config
from loyalty_devkit.chaos.databases import DB_ERRORS, fetch
from loyalty_devkit.chaos.http import AMBIGUOUS, Services
from loyalty_devkit.chaos.model import PROGRAM_ZONE
from loyalty_devkit.chaos.oracle import Outcomes
from loyalty_devkit.chaos.publishing import Publisher
from loyalty_devkit.chaos.report import Report
from loyalty_devkit.chaos.workload import MemberPlan, Publish
from loyalty_devkit.dev_tokens import make_token


@dataclass(kw_only=True)
class Customers:
    config: Config
    cluster: Cluster
    services: Services
    rng: random.Random
    publisher: Publisher
    outcomes: Outcomes
    report: Report
    problems: list[str]

    async def _all_applied(self, plan: MemberPlan, timeout_s: float = 300) -> None:
        """Wait until points applied every valid event of the member."""
        await asyncio.wait_for(self.publisher.finished[plan.member_id].wait(), timeout=3600)
        ids = list(
            {s.valid_event_id for s in plan.steps if isinstance(s, Publish) and s.valid_event_id}
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(*DB_ERRORS):
                rows = await fetch(
                    self.cluster,
                    "points",
                    "SELECT count(*) AS n FROM processed_event WHERE event_id = ANY($1::text[])",
                    ids,
                )
                if rows[0]["n"] == len(ids):
                    return
            await asyncio.sleep(1)
        raise TimeoutError(f"points did not apply all events of {plan.member_id} in {timeout_s}s")

    async def redeem(self, plan: MemberPlan) -> None:
        assert plan.redemption is not None
        services, member = self.services, plan.member_id
        await self._all_applied(plan)
        token = make_token(member, secret=SECRET, ttl_s=6 * 3600)
        path = f"/v1/members/{member}/points"
        balance = await services.get("points", path)
        available = balance["available"]
        keys = [
            str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            for _ in plan.redemption.amounts
        ]

        async def redeem(key: str, points: int) -> tuple[int, Any]:
            answer = await services.call(
                "points",
                "POST",
                f"{path[: -len('/points')]}/redemptions",
                json={"points": points, "reward": "chaos"},
                headers={"Idempotency-Key": key},
                token=token,
            )
            return answer.status, answer.body

        firsts = await asyncio.gather(
            *(redeem(k, p) for k, p in zip(keys, plan.redemption.amounts, strict=True))
        )
        spent = sum(
            p
            for (status, _), p in zip(firsts, plan.redemption.amounts, strict=True)
            if status == 201
        )
        for (status, body), points in zip(firsts, plan.redemption.amounts, strict=True):
            if status not in (201, 409):
                self.problems.append(f"{member}: redemption of {points} answered {status} {body}")
            if status == 409 and points <= available - spent:
                self.problems.append(
                    f"{member}: redemption of {points} refused (409) though {available} were "
                    f"available and {spent} spent by the others of the burst"
                )
        if spent > available:
            self.problems.append(
                f"{member}: concurrent redemptions spent {spent} of {available} available"
            )
        for index in plan.redemption.replays:
            status, body = await redeem(keys[index], plan.redemption.amounts[index])
            first_status, first_body = firsts[index]
            same = status == first_status and (
                status != 201 or (body or {}).get("id") == (first_body or {}).get("id")
            )
            if not same:
                self.problems.append(
                    f"{member}: replayed Idempotency-Key answered {status} {body}, first "
                    f"{first_status} {first_body}"
                )
        conflicting = plan.redemption.conflicting
        if conflicting is not None:
            points = plan.redemption.amounts[conflicting]
            status, body = await redeem(keys[conflicting], points + 1)
            first = firsts[conflicting][0]
            if status != 422 and first == 201:
                self.problems.append(
                    f"{member}: same Idempotency-Key with another body answered {status}, not 422"
                )
            elif status != 422:
                # the key's first answer was a 409, which points does not store: the contract
                # says 422 for another body all the same (a finding, not counted: see the docs)
                self.report.findings.append(
                    f"{member}: Idempotency-Key first answered 409 (asked {points}), then with "
                    f"another body ({points + 1}) answered {status}, not 422"
                )
        self.outcomes.redeemed[member] = spent
        if plan.redemption.cancel:
            await self._cancel(member, firsts, plan.redemption.amounts)
        await self.adjust(plan)

    async def _cancel(self, member: str, firsts: list[tuple[int, Any]], amounts: list[int]) -> None:
        """Cancel the first redemption that succeeded, with two requests at once: the points
        must come back once."""
        done = [
            (body, p) for (status, body), p in zip(firsts, amounts, strict=True) if status == 201
        ]
        if not done:
            return
        body, points = done[0]
        path = f"/v1/members/{member}/redemptions/{body['id']}/cancellation"
        answers = await asyncio.gather(
            *(self.services.call("points", "POST", path) for _ in range(2))
        )
        statuses = sorted(a.status for a in answers)
        if any(s not in (200, 201) for s in statuses):
            self.problems.append(f"{member}: cancelling {body['id']} answered {statuses}")
            return
        self.outcomes.cancelled[member] = points

    async def adjust(self, plan: MemberPlan) -> None:
        services, member = self.services, plan.member_id
        total = 0
        for n, points in enumerate(plan.adjustments):
            reason = f"chaos {self.config.seed} {member} #{n}"
            while True:
                try:
                    answer = await services.call(
                        "points",
                        "POST",
                        f"/v1/members/{member}/adjustments",
                        json={"points": points, "reason": reason},
                        retry_ambiguous=False,
                    )
                except AMBIGUOUS:
                    # the process died mid-request (or did not answer): did it commit?
                    await asyncio.sleep(2)
                    if await self._adjustment_recorded(member, reason):
                        total += points
                        break
                    continue
                if answer.status == 201:
                    total += points
                else:
                    self.problems.append(
                        f"{member}: adjustment of {points} answered {answer.status} {answer.body}"
                    )
                break
        self.outcomes.adjusted[member] = total

    async def _adjustment_recorded(self, member: str, reason: str) -> bool:
        items = await self.services.pages("points", f"/v1/members/{member}/points/transactions")
        return any(i["type"] == "adjust" and i["details"].get("reason") == reason for i in items)

    async def adjust_later(self, plan: MemberPlan) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.config.duration_s))
        await self.adjust(plan)

    async def answer(self, plan: MemberPlan) -> None:
        member = plan.member_id
        token = make_token(member, secret=SECRET, ttl_s=6 * 3600)
        scores: list[int] = []
        for answer_plan in plan.answers:
            event = self.publisher.purchase_out(answer_plan.order_id)
            await asyncio.wait_for(event.wait(), timeout=3600)
            deadline = time.monotonic() + 300
            ambiguous = False
            while True:
                answer = await self.services.call(
                    "feedback",
                    "POST",
                    f"/v1/members/{member}/feedback",
                    json={"score": answer_plan.score, "order_id": answer_plan.order_id},
                    token=token,
                )
                ambiguous = ambiguous or answer.ambiguous_before
                if answer.status == 201 or (answer.status == 409 and ambiguous):
                    scores.append(answer_plan.score)
                    if answer_plan.score <= 6:
                        day = datetime.now(PROGRAM_ZONE).date()
                        self.outcomes.detractor_days.setdefault(member, set()).add(day)
                    break
                if answer.status == 422 and time.monotonic() < deadline:
                    await asyncio.sleep(1)  # feedback has not seen the order yet
                    continue
                self.problems.append(
                    f"{member}: answer about {answer_plan.order_id} answered {answer.status} "
                    f"{answer.body}"
                )
                break
        self.outcomes.answers[member] = scores
