"""Publishing the workload at a steady pace, each member's events held at its tier gates until
points has applied the purchase and knows the tier it leads to."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

from loyalty_devkit.chaos.cluster import Cluster
from loyalty_devkit.chaos.config import Config
from loyalty_devkit.chaos.databases import DB_ERRORS, fetch
from loyalty_devkit.chaos.http import NoAnswer, Services
from loyalty_devkit.chaos.model import RANK, MemberModel, Purchase, Refund
from loyalty_devkit.chaos.report import Report, log
from loyalty_devkit.chaos.workload import Gate, MemberPlan, Publish, Workload

HEADERS = [("content-type", b"application/cloudevents+json")]
GATE_TIMEOUT_S = 120.0


@dataclass(kw_only=True)
class Publisher:
    config: Config
    cluster: Cluster
    services: Services
    workload: Workload
    report: Report
    problems: list[str]
    published: dict[str, asyncio.Event] = field(default_factory=dict)  # order id → purchase out
    finished: dict[str, asyncio.Event] = field(init=False)  # member → every step published
    blocked: dict[str, Gate] = field(default_factory=dict)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _opened: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.finished = {member: asyncio.Event() for member in self.workload.members}

    def purchase_out(self, order_id: str) -> asyncio.Event:
        """Set once the purchase of `order_id` is published."""
        return self.published.setdefault(order_id, asyncio.Event())

    async def publish(self, producer: AIOKafkaProducer) -> None:
        workload = self.workload
        rate = max(1.0, workload.events / self.config.duration_s)
        queues: dict[str, deque[Publish | Gate]] = defaultdict(deque)
        started = time.monotonic()
        sent = 0
        pending_futures: list[asyncio.Future[Any]] = []

        async def send(step: Publish) -> None:
            nonlocal sent
            future = await producer.send(
                step.topic, value=step.value, key=step.key, headers=HEADERS
            )
            pending_futures.append(future)
            sent += 1
            self.report.events = sent
            effect = step.effect
            if step.kind == "purchase" and isinstance(effect, Purchase):
                self.purchase_out(effect.order_id).set()
            if len(pending_futures) >= 200:
                await asyncio.gather(*pending_futures)
                pending_futures.clear()
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)

        due = {id(step): n for n, step in enumerate(workload.order)}
        position = 0

        async def drain(member: str) -> None:
            """Publish the member's steps whose turn has come, up to its next gate."""
            queue = queues[member]
            while queue and member not in self.blocked:
                step = queue[0]
                if isinstance(step, Gate):
                    queue.popleft()
                    self.blocked[member] = step
                elif due[id(step)] <= position:
                    queue.popleft()
                    await send(step)
                else:
                    break
            if not queue and member not in self.blocked:
                self.finished[member].set()

        for member in workload.members:
            if not workload.members[member].steps:
                self.finished[member].set()
        for step in workload.order:
            queues[step.member_id].append(step)
        for position, step in enumerate(workload.order):  # noqa: B007 - drain() reads it
            if step.member_id not in self.blocked:
                await drain(step.member_id)  # this step, if it is the member's turn
            await self._drain_released(drain)
        position = len(workload.order)  # everything held back is due now
        while any(not e.is_set() for e in self.finished.values()):
            await self._drain_released(drain)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), timeout=1)
        if pending_futures:
            await asyncio.gather(*pending_futures)
        await producer.flush()
        self.report.events = sent
        log(f"published {sent} events")

    async def _drain_released(self, drain: Callable[[str], Awaitable[None]]) -> None:
        if not self.released.is_set():
            return
        self.released.clear()
        for member in list(self._opened):
            self._opened.discard(member)
            await drain(member)

    async def open_gates(self, stop: asyncio.Event) -> None:
        """Open the gates whose purchase points applied and whose tier points knows."""
        waited: dict[str, float] = {}
        while not stop.is_set():
            await asyncio.sleep(0.5)
            gates = dict(self.blocked)
            if not gates:
                continue
            try:
                applied = await fetch(
                    self.cluster,
                    "points",
                    "SELECT event_id FROM processed_event WHERE event_id = ANY($1::text[])",
                    [g.event_id for g in gates.values()],
                )
                tiers = await fetch(
                    self.cluster,
                    "points",
                    "SELECT member_id, tier FROM member_tier WHERE member_id = ANY($1::text[])",
                    list(gates),
                )
            except DB_ERRORS:
                continue  # PostgreSQL is restarting
            done = {r["event_id"] for r in applied}
            known = {r["member_id"]: r["tier"] for r in tiers}
            for member, gate in gates.items():
                waited.setdefault(member, time.monotonic())
                if gate.event_id in done and RANK.get(known.get(member, ""), -1) >= RANK[gate.tier]:
                    del self.blocked[member]
                    waited.pop(member, None)
                    self._opened.add(member)
                    self.released.set()
                elif time.monotonic() - waited[member] > GATE_TIMEOUT_S:
                    # tiers disagrees with the oracle about this member (or points never learns
                    # it): say so with the facts, and let the member's remaining events go
                    problem, disagrees = await self._gate_problem(gate, known.get(member))
                    if not disagrees and time.monotonic() - waited[member] < 3 * GATE_TIMEOUT_S:
                        continue
                    self.problems.append(problem)
                    del self.blocked[member]
                    waited.pop(member, None)
                    self._opened.add(member)
                    self.released.set()

    async def _gate_problem(self, gate: Gate, points_tier: str | None) -> tuple[str, bool]:
        plan = self.workload.members[gate.member_id]
        spend, disagrees = "?", False
        with contextlib.suppress(NoAnswer):
            tier = await self.services.get("tiers", f"/v1/members/{gate.member_id}/tier")
            spend = f"{tier['tier']} at spend {tier['qualifying_spend']}"
            disagrees = RANK.get(tier["tier"], -1) < RANK[gate.tier]
        expected = _spend_after(plan, gate.event_id)
        return (
            f"{gate.member_id}: after purchase event {gate.event_id} the oracle's spend is "
            f"{expected} (tier {gate.tier}); tiers API says {spend}; points knows "
            f"{points_tier or 'bronze'} (the member's later events were held, then released)",
            disagrees,
        )


def _spend_after(plan: MemberPlan, event_id: str) -> Decimal:
    """The oracle's qualifying spend right after the member's event `event_id`."""
    assert plan.model is not None
    model = MemberModel(plan.member_id, plan.model.now, plan.model.horizon)
    for step in plan.steps:
        if not isinstance(step, Publish) or step.kind in ("duplicate", "duplicate-order"):
            continue
        if isinstance(step.effect, Purchase):
            model.purchase(step.effect)
        elif isinstance(step.effect, Refund):
            model.refund(step.effect)
        if step.valid_event_id == event_id:
            break
    return model.spend
