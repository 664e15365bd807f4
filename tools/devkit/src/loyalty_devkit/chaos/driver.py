"""`loyalty chaos`: the workload through the real platform under fire, then the oracle's verdict.

Phases: start (PostgreSQL, broker, mail, 2 x 4 services) → drive (publish the workload at a
steady pace holding gated members back, HTTP redemptions/adjustments/answers, and meanwhile
SIGKILL + restart services, restart PostgreSQL once, pause the broker once) → quiet (sentinels
on every input partition applied by every consumer, outboxes empty, counts stable) → compare
(every member against the oracle, the feedback summary, `loyalty-points audit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from loyalty_devkit.chaos.cluster import SESSION_TIMEOUT_MS, Cluster
from loyalty_devkit.chaos.http import AMBIGUOUS, NoAnswer, Services
from loyalty_devkit.chaos.model import RANK, MemberModel, Purchase, Refund
from loyalty_devkit.chaos.oracle import (
    SERVICES,
    Expected,
    Outcomes,
    check_earn_tiers,
    expected_for,
    identity_left,
)
from loyalty_devkit.chaos.workload import (
    MEMBERS,
    PURCHASES,
    Gate,
    MemberPlan,
    Publish,
    Workload,
    generate,
)
from loyalty_devkit.dev_tokens import make_token
from loyalty_devkit.local_broker import create_topics

HEADERS = [("content-type", b"application/cloudevents+json")]
GATE_TIMEOUT_S = 120.0
#: what a query may raise while PostgreSQL restarts (the poll is tried again)
DB_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
HANDLER_REFUSALS = frozenset(
    {"duplicate-order", "refund-exceeds-order", "duplicate-refund", "member-mismatch"}
)
PARTITIONS = 4
SECRET = "chaos-run-secret-" + "0123456789abcdef" * 2


@dataclass(frozen=True)
class Config:
    seed: int
    events: int
    members: int
    kills: int
    duration_s: float
    postgres_restart: bool = True
    broker_pause: bool = True
    quiet_timeout_s: float = 420
    keep: bool = False
    refund_probes: bool = True


@dataclass
class Report:
    seed: int
    events: int = 0
    kills: int = 0
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # contract questions, not counted
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"seed={self.seed} events={self.events} kills={self.kills} "
            f"mismatches={len(self.mismatches)}"
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


def left_parked(
    code: str, missing: list[bytes], extra: list[bytes] | list[bytes | None], parked: int
) -> bool:
    """A member-mismatch shortfall that is only refunds still parked: a refund naming another
    member's order is on another partition than the purchase, parked while the purchase was
    applied by the other consumer, it waits for the sweeper (unknown-order after days). No
    balance changes: a finding, not a mismatch. `missing` has one entry per published copy (a
    record published twice is missing twice) and `parked` counts distinct parked records."""
    return code == "member-mismatch" and bool(missing) and not extra and parked == len(set(missing))


def judged_again(
    code: str, missing: list[bytes], extra: list[bytes] | list[bytes | None], over: list[bytes]
) -> bool:
    """A surplus that is only records dead-lettered at more positions than they were published
    (and nothing missing): a refund refused when its purchase came out of the park has its id
    released from the inbox (so a corrected one under the same id applies), so the same record
    read again after a kill or a rebalance is judged again and dead-lettered a second time (seed
    201). Nothing applied, no balance changes: a finding, not a mismatch."""
    return code in HANDLER_REFUSALS and bool(over) and not missing and not extra


def _brief(values: list[bytes] | list[bytes | None]) -> str:
    """Which records, by member and event id (the first few)."""
    out = []
    for value in values[:5]:
        try:
            body = orjson.loads(value or b"")
            data = body.get("data") or {}
            out.append(f"{body.get('subject')} event {body.get('id')} order {data.get('order_id')}")
        except orjson.JSONDecodeError:
            out.append(repr((value or b"")[:60]))
    return "[" + "; ".join(out) + "]"


def log(message: str) -> None:
    print(f"[chaos {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class Run:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rng = random.Random(config.seed ^ 0x5EED)  # chaos timing and HTTP choices
        self.report = Report(config.seed)
        self.cluster = Cluster(secret=SECRET)
        self.workload: Workload | None = None
        self.outcomes = Outcomes()
        self.published: dict[str, asyncio.Event] = {}  # order id → its purchase is out
        self.finished: dict[str, asyncio.Event] = {}  # member → every step published
        self.blocked: dict[str, Gate] = {}
        self.released = asyncio.Event()
        self._opened: set[str] = set()
        self.http_problems: list[str] = []
        self.admin = make_token("chaos-admin", admin=True, secret=SECRET, ttl_s=6 * 3600)
        self.services: Services | None = None

    # ---------------------------------------------------------------- databases
    async def _db(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.cluster.database_url(service), timeout=5)

    async def _fetch(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await self._db(service)
        try:
            return list(await conn.fetch(sql, *args, timeout=30))
        finally:
            with contextlib.suppress(*DB_ERRORS):
                await conn.close(timeout=5)

    # ---------------------------------------------------------------- publishing
    async def _publish(self, producer: AIOKafkaProducer, workload: Workload) -> None:
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
            if step.kind == "purchase" and effect is not None:
                self.published.setdefault(effect.order_id, asyncio.Event()).set()
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

    async def _drain_released(self, drain: Any) -> None:
        if not self.released.is_set():
            return
        self.released.clear()
        for member in list(self._opened):
            self._opened.discard(member)
            await drain(member)

    async def _gates(self, stop: asyncio.Event) -> None:
        """Open the gates whose purchase points applied and whose tier points knows."""
        waited: dict[str, float] = {}
        while not stop.is_set():
            await asyncio.sleep(0.5)
            gates = dict(self.blocked)
            if not gates:
                continue
            try:
                applied = await self._fetch(
                    "points",
                    "SELECT event_id FROM processed_event WHERE event_id = ANY($1::text[])",
                    [g.event_id for g in gates.values()],
                )
                tiers = await self._fetch(
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
                    self.http_problems.append(problem)
                    del self.blocked[member]
                    waited.pop(member, None)
                    self._opened.add(member)
                    self.released.set()

    async def _gate_problem(self, gate: Gate, points_tier: str | None) -> tuple[str, bool]:
        assert self.services is not None
        assert self.workload is not None
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

    # ---------------------------------------------------------------- HTTP
    async def _all_applied(self, plan: MemberPlan, timeout_s: float = 300) -> None:
        """Wait until points applied every valid event of the member."""
        await asyncio.wait_for(self.finished[plan.member_id].wait(), timeout=3600)
        ids = list(
            {s.valid_event_id for s in plan.steps if isinstance(s, Publish) and s.valid_event_id}
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(*DB_ERRORS):
                rows = await self._fetch(
                    "points",
                    "SELECT count(*) AS n FROM processed_event WHERE event_id = ANY($1::text[])",
                    ids,
                )
                if rows[0]["n"] == len(ids):
                    return
            await asyncio.sleep(1)
        raise TimeoutError(f"points did not apply all events of {plan.member_id} in {timeout_s}s")

    async def _redeem(self, plan: MemberPlan) -> None:
        assert self.services is not None
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
                self.http_problems.append(
                    f"{member}: redemption of {points} answered {status} {body}"
                )
            if status == 409 and points <= available - spent:
                self.http_problems.append(
                    f"{member}: redemption of {points} refused (409) though {available} were "
                    f"available and {spent} spent by the others of the burst"
                )
        if spent > available:
            self.http_problems.append(
                f"{member}: concurrent redemptions spent {spent} of {available} available"
            )
        for index in plan.redemption.replays:
            status, body = await redeem(keys[index], plan.redemption.amounts[index])
            first_status, first_body = firsts[index]
            same = status == first_status and (
                status != 201 or (body or {}).get("id") == (first_body or {}).get("id")
            )
            if not same:
                self.http_problems.append(
                    f"{member}: replayed Idempotency-Key answered {status} {body}, first "
                    f"{first_status} {first_body}"
                )
        conflicting = plan.redemption.conflicting
        if conflicting is not None:
            points = plan.redemption.amounts[conflicting]
            status, body = await redeem(keys[conflicting], points + 1)
            first = firsts[conflicting][0]
            if status != 422 and first == 201:
                self.http_problems.append(
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
        await self._adjust(plan)

    async def _cancel(self, member: str, firsts: list[tuple[int, Any]], amounts: list[int]) -> None:
        """Cancel the first redemption that succeeded, with two requests at once: the points
        must come back once."""
        assert self.services is not None
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
            self.http_problems.append(f"{member}: cancelling {body['id']} answered {statuses}")
            return
        self.outcomes.cancelled[member] = points

    async def _adjust(self, plan: MemberPlan) -> None:
        assert self.services is not None
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
                    self.http_problems.append(
                        f"{member}: adjustment of {points} answered {answer.status} {answer.body}"
                    )
                break
        self.outcomes.adjusted[member] = total

    async def _adjustment_recorded(self, member: str, reason: str) -> bool:
        assert self.services is not None
        items = await self.services.pages("points", f"/v1/members/{member}/points/transactions")
        return any(i["type"] == "adjust" and i["details"].get("reason") == reason for i in items)

    async def _adjust_later(self, plan: MemberPlan) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.config.duration_s))
        await self._adjust(plan)

    async def _answer(self, plan: MemberPlan) -> None:
        assert self.services is not None
        member = plan.member_id
        token = make_token(member, secret=SECRET, ttl_s=6 * 3600)
        scores: list[int] = []
        for answer_plan in plan.answers:
            event = self.published.setdefault(answer_plan.order_id, asyncio.Event())
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
                    break
                if answer.status == 422 and time.monotonic() < deadline:
                    await asyncio.sleep(1)  # feedback has not seen the order yet
                    continue
                self.http_problems.append(
                    f"{member}: answer about {answer_plan.order_id} answered {answer.status} "
                    f"{answer.body}"
                )
                break
        self.outcomes.answers[member] = scores

    # ---------------------------------------------------------------- chaos
    async def _chaos(self) -> None:
        duration = self.config.duration_s
        kills = sorted(self.rng.uniform(0.03, 0.97) * duration for _ in range(self.config.kills))
        events: list[tuple[float, str]] = [(t, "kill") for t in kills]
        if self.config.postgres_restart:
            events.append((0.4 * duration, "postgres"))
        if self.config.broker_pause:
            events.append((0.7 * duration, "broker"))
        events.sort()
        started = time.monotonic()
        for at, what in events:
            wait = at - (time.monotonic() - started)
            if wait > 0:
                await asyncio.sleep(wait)
            if what == "kill":
                victim = self.cluster.kill(self.rng)
                if victim is not None:
                    self.report.kills += 1
                    log(f"SIGKILL {victim.name} (kill {self.report.kills})")
                    asyncio.get_running_loop().call_later(
                        self.rng.uniform(0.5, 4.0), self._restart_dead
                    )
            elif what == "postgres":
                log("PostgreSQL: stop, 3 s down, start (same data dir)")
                await asyncio.to_thread(self.cluster.restart_postgres, 3.0)
                log("PostgreSQL back")
            else:
                pause = SESSION_TIMEOUT_MS / 1000 + 4
                log(f"broker: SIGSTOP for {pause:.0f}s (session timeout {SESSION_TIMEOUT_MS} ms)")
                self.cluster.pause_broker()
                await asyncio.sleep(pause)
                self.cluster.resume_broker()
                log("broker: SIGCONT")

    def _restart_dead(self) -> None:
        for replica in self.cluster.restart_dead():
            log(f"restarted {replica.name}")

    # ---------------------------------------------------------------- quiet
    async def _sentinels(self, producer: AIOKafkaProducer) -> list[str]:
        ids = []
        now = datetime.now(UTC).isoformat()
        for partition in range(PARTITIONS):
            member = f"chaos-sentinel-{partition}"
            for topic, event_type, data in (
                (
                    PURCHASES,
                    "purchase.completed",
                    {
                        "order_id": f"o-sentinel-{partition}-{uuid.uuid4().hex[:8]}",
                        "member_id": member,
                        "channel": "online",
                        "currency": "CNY",
                        "total": "0.00",
                        "items": [],
                    },
                ),
                (
                    MEMBERS,
                    "member.updated",
                    {
                        "member_id": member,
                        "name": "sentinel",
                        "consents": {"email": False, "sms": False, "push": False},
                    },
                ),
            ):
                event_id = str(uuid.uuid4())
                ids.append(event_id)
                value = orjson.dumps(
                    {
                        "specversion": "1.0",
                        "id": event_id,
                        "source": "shop/chaos",
                        "type": event_type,
                        "time": now,
                        "subject": member,
                        "data": data,
                    }
                )
                await producer.send_and_wait(
                    topic, value=value, key=member.encode(), partition=partition, headers=HEADERS
                )
        return ids

    async def _readiness(self) -> str:
        """What every replica's /readyz says, for a run that does not come to rest."""
        assert self.services is not None
        out = []
        async with httpx.AsyncClient(timeout=3) as client:
            for replica in self.cluster.replicas:
                try:
                    response = await client.get(f"{replica.url}/readyz")
                    out.append(f"{replica.name} {response.status_code} {response.text[:300]}")
                except httpx.HTTPError as exc:
                    out.append(f"{replica.name} {exc!r}")
        return " | ".join(out)

    async def _wait_quiet(self, sentinel_ids: list[str]) -> None:
        deadline = time.monotonic() + self.config.quiet_timeout_s
        missing: list[str] = []
        readers = {"points": 4, "tiers": 4, "feedback": 4, "notifications": 8}
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"sentinels not applied by every service in {self.config.quiet_timeout_s:.0f}s"
                    f" ({', '.join(missing)}); {await self._readiness()}"
                )
            missing = []
            for service, expected in readers.items():
                try:
                    rows = await self._fetch(
                        service,
                        "SELECT event_id FROM processed_event WHERE event_id = ANY($1::text[])",
                        sentinel_ids,
                    )
                except DB_ERRORS:
                    missing.append(service)
                    continue
                if len(rows) < expected:
                    seen = {r["event_id"] for r in rows}
                    # sentinel_ids: per partition, the purchase then the member update
                    lacking = [
                        f"{PURCHASES if n % 2 == 0 else MEMBERS}[{n // 2}]"
                        for n, event_id in enumerate(sentinel_ids)
                        if event_id not in seen and (service == "notifications" or n % 2 == 0)
                    ]
                    missing.append(f"{service} lacks {' '.join(lacking)}")
            if not missing:
                break
            await asyncio.sleep(2)
        log("sentinels applied everywhere; waiting for outboxes and counts to settle")
        previous: list[int] | None = None
        stable = 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no quiet in {self.config.quiet_timeout_s:.0f}s")
            figures: list[int] = []
            backlog = 0
            try:
                for service in ("points", "tiers", "notifications", "feedback"):
                    rows = await self._fetch(
                        service,
                        "SELECT (SELECT count(*) FROM outbox) AS o, "
                        "(SELECT count(*) FROM processed_event) AS p",
                    )
                    backlog += rows[0]["o"]
                    figures.append(rows[0]["p"])
                ledger = await self._fetch("points", "SELECT count(*) AS n FROM ledger_entry")
                figures.append(ledger[0]["n"])
            except DB_ERRORS:
                figures = [-1]
            stable = stable + 1 if backlog == 0 and figures == previous else 0
            previous = figures
            if stable >= 3:
                return
            await asyncio.sleep(3)

    # ---------------------------------------------------------------- compare
    async def _actual(self, member: str) -> dict[str, Any]:
        assert self.services is not None
        s = self.services
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

    def _compare(self, plan: MemberPlan, actual: dict[str, Any]) -> list[str]:
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
            redeemed=self.outcomes.redeemed.get(member, 0),
            adjusted=self.outcomes.adjusted.get(member, 0),
            answer_scores=self.outcomes.answers.get(member, []),
            cancelled=self.outcomes.cancelled.get(member, 0),
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
        by_type: dict[str, int] = defaultdict(int)
        for item in ledger:
            by_type[item["type"]] += item["points"]
        for kind, expected in e.ledger.items():
            check(f"ledger {kind} points", expected, by_type.get(kind, 0))
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

    async def _compare_all(self, workload: Workload) -> list[str]:
        assert self.services is not None
        services = self.services
        semaphore = asyncio.Semaphore(12)
        problems: list[str] = []

        async def one(plan: MemberPlan) -> None:
            async with semaphore:
                try:
                    actual = await self._actual(plan.member_id)
                    if plan.identity:  # erased: what each service still holds about them
                        actual["exports"] = {
                            s: await services.get(s, f"/v1/members/{plan.member_id}/export")
                            for s in SERVICES
                        }
                except NoAnswer as exc:
                    problems.append(f"{plan.member_id}: {exc}")
                    return
                problems.extend(self._compare(plan, actual))

        await asyncio.gather(*(one(p) for p in workload.members.values()))
        self._summarise(workload)
        scores = [s for scores in self.outcomes.answers.values() for s in scores]
        summary = await self.services.get("feedback", "/v1/feedback/summary", days=3650)
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

    def _summarise(self, workload: Workload) -> None:
        """What the oracle expected over all members: proof that the comparison was not empty."""
        totals: dict[str, int] = defaultdict(int)
        tiers: dict[str, int] = defaultdict(int)
        for plan in workload.members.values():
            assert plan.model is not None
            e = expected_for(
                plan.model,
                earn_tiers={},
                redeemed=self.outcomes.redeemed.get(plan.member_id, 0),
                adjusted=self.outcomes.adjusted.get(plan.member_id, 0),
                answer_scores=self.outcomes.answers.get(plan.member_id, []),
                cancelled=self.outcomes.cancelled.get(plan.member_id, 0),
            )
            tiers[e.tier] += 1
            totals["available"] += e.available
            totals["pending"] += e.pending
            totals["lifetime"] += e.lifetime_earned
            totals["expired"] -= e.ledger["expire"]
            totals["upgrades"] += e.notifications["tier_upgraded"]
            totals["orders"] += e.purchases
        totals["redeemed"] = sum(self.outcomes.redeemed.values())
        totals["cancelled"] = sum(self.outcomes.cancelled.values())
        totals["adjusted"] = sum(self.outcomes.adjusted.values())
        totals["answers"] = sum(len(a) for a in self.outcomes.answers.values())
        figures = " ".join(f"{k}={v}" for k, v in totals.items())
        erased = sum(1 for p in workload.members.values() if p.identity)
        log(f"oracle (at bronze-first tiers): {figures} tiers={dict(tiers)} erased={erased}")

    async def _dead_letters(self, workload: Workload) -> list[str]:
        """Every invalid record the workload published, on `commerce.purchases.dlq` once per
        service that reads the topic (distinct positions: the relay may publish a row twice),
        unchanged, with the right `error.code`."""
        assert self.cluster.broker is not None
        kinds: dict[bytes, str] = {}
        published = {s.value for s in workload.order if isinstance(s, Publish)}
        for step in workload.order:
            if isinstance(step, Publish) and step.kind not in ("duplicate", "event"):
                kinds.setdefault(step.value, step.kind)
        codes = {
            "bad-json": "invalid-json",
            "negative-total": "invalid-data",
            "subject-mismatch": "subject-mismatch",
            "duplicate-order": "duplicate-order",
            "refund-exceeds": "refund-exceeds-order",
            "refund-replay": "duplicate-refund",
            "refund-other-member": "member-mismatch",
        }
        everyone = ("points", "tiers", "feedback", "notifications")
        judges = ("points", "tiers", "feedback")  # every service that applies refunds
        readers = {
            "invalid-json": everyone,
            "invalid-data": everyone,
            "subject-mismatch": everyone,
            "duplicate-order": ("points",),
            "refund-exceeds-order": judges,
            "duplicate-refund": judges,
            "member-mismatch": judges,
        }
        expected: dict[tuple[str, str], int] = defaultdict(int)
        expected_values: dict[tuple[str, str], list[bytes]] = defaultdict(list)
        # An erased member's dead letters may go out emptied, their parked refunds cut down
        # (docs/operations.md#member-data-rights): the check is about everyone else's.
        erased = {m.encode() for m, plan in workload.members.items() if plan.identity}
        for step in workload.order:
            if not isinstance(step, Publish) or step.topic != PURCHASES or step.key in erased:
                continue
            code = codes.get(kinds.get(step.value, ""))
            if code is None:
                continue
            for service in readers[code]:
                expected[(service, code)] += 1
                expected_values[(service, code)].append(step.value)
        consumer = AIOKafkaConsumer(
            f"{PURCHASES}.dlq",
            bootstrap_servers=self.cluster.broker.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=200,
        )
        await consumer.start()
        positions: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
        values: dict[tuple[str, str], set[bytes | None]] = defaultdict(set)
        where_of: dict[tuple[str, str], dict[bytes | None, set[tuple[str, ...]]]] = defaultdict(
            lambda: defaultdict(set)
        )
        changed = 0
        try:
            idle = 0
            while idle < 3:
                batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
                idle = 0 if batch else idle + 1
                for records in batch.values():
                    for record in records:
                        if record.key in erased:
                            continue
                        headers = {k: v.decode(errors="replace") for k, v in record.headers}
                        key = (headers.get("error.service", "?"), headers.get("error.code", "?"))
                        where = (
                            headers.get("error.partition", ""),
                            headers.get("error.offset", ""),
                            "" if "error.partition" in headers else str(record.value),
                        )
                        positions[key].add(where)
                        values[key].add(record.value)
                        where_of[key][record.value].add(where)
                        if record.value not in published:
                            changed += 1
        finally:
            await consumer.stop()
        got = {key: len(where) for key, where in positions.items()}
        problems = []
        for key in sorted(set(expected) | set(got)):
            # A record refused by a handler (not at decoding) whose exact copy sits in the same
            # batch is a duplicate there, not a second dead letter; in another batch it is dead-
            # lettered again: anything from one per distinct record to one per copy is right.
            low = len(set(expected_values.get(key, [])))
            if key[1] in HANDLER_REFUSALS and low <= got.get(key, 0) <= expected.get(key, 0):
                continue
            if expected.get(key, 0) != got.get(key, 0):
                missing = [v for v in expected_values.get(key, []) if v not in values[key]]
                extra = [v for v in values[key] if v not in set(expected_values.get(key, []))]
                parked = await self._still_parked(key[0], missing)
                text = (
                    f"{PURCHASES}.dlq: {key[0]} {key[1]} expected {expected.get(key, 0)}, "
                    f"got {got.get(key, 0)}; missing {_brief(missing)}"
                    + (f" ({parked} of them still parked in {key[0]})" if parked else "")
                    + f"; unexpected {_brief(extra)}"
                )
                copies = expected_values.get(key, [])
                over = [
                    v for v in set(copies) if len(where_of[key].get(v, set())) > copies.count(v)
                ]
                if left_parked(key[1], missing, extra, parked):
                    self.report.findings.append(text)
                elif judged_again(key[1], missing, extra, over):
                    self.report.findings.append(
                        f"{text}; dead-lettered at more positions than published (a refused "
                        f"parked refund leaves the inbox, its record read again is refused "
                        f"again): {_brief(over)}"
                    )
                else:
                    problems.append(text)
        if changed:
            problems.append(f"{PURCHASES}.dlq: {changed} records not as published")
        log(f"dead letters: {sum(got.values())} distinct, by service and code {dict(got)}")
        return problems

    async def _still_parked(self, service: str, values: list[bytes]) -> int:
        """How many of these records the service still keeps waiting for their purchase."""
        ids = []
        for value in values:
            with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                ids.append(str(orjson.loads(value).get("id")))
        if not ids or service not in ("points", "tiers", "feedback"):
            return 0
        try:
            rows = await self._fetch(
                service,
                "SELECT count(*) AS n FROM parked_record WHERE event_id = ANY($1::text[])",
                ids,
            )
        except DB_ERRORS:
            return 0
        return int(rows[0]["n"])

    def _audit(self) -> list[str]:
        command = str(Path(sys.executable).with_name("loyalty-points"))
        env = {**self.cluster.env}
        result = subprocess.run(
            [command, "audit"], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
        log(f"loyalty-points audit: {last}")
        if result.returncode != 0:
            return [f"loyalty-points audit exit {result.returncode}: {result.stdout[-2000:]}"]
        return []

    # ---------------------------------------------------------------- main
    async def run(self) -> Report:
        cfg = self.config
        t0 = time.monotonic()
        log(f"seed={cfg.seed} events={cfg.events} members={cfg.members} kills={cfg.kills}")
        workload = self.workload = generate(
            cfg.seed,
            events=cfg.events,
            members=cfg.members,
            refund_probes=cfg.refund_probes,
            drive_s=cfg.duration_s,
        )
        roles: dict[str, int] = defaultdict(int)
        for plan in workload.members.values():
            roles[plan.role] += 1
        gates = sum(1 for s in workload.order if isinstance(s, Gate))
        log(f"workload: {workload.events} records, {gates} tier gates, roles {dict(roles)}")
        log(f"starting PostgreSQL, broker and 2 x 4 services in {self.cluster.workdir}")
        await asyncio.to_thread(self.cluster.start_servers)
        assert self.cluster.broker is not None
        await create_topics(self.cluster.broker.bootstrap, partitions=PARTITIONS)
        await asyncio.to_thread(self.cluster.start_services)
        self.report.timings["start"] = time.monotonic() - t0
        log(f"platform ready in {self.report.timings['start']:.0f}s")
        self.services = Services(self.cluster, self.admin, self.rng)
        self.finished = {member: asyncio.Event() for member in workload.members}
        producer = AIOKafkaProducer(
            bootstrap_servers=self.cluster.broker.bootstrap,
            acks="all",
            enable_idempotence=False,
            linger_ms=20,
            request_timeout_ms=60_000,
        )
        await producer.start()
        stop_gates = asyncio.Event()
        try:
            t1 = time.monotonic()
            gates_task = asyncio.create_task(self._gates(stop_gates))
            chaos_task = asyncio.create_task(self._chaos())
            http: list[asyncio.Task[None]] = []
            for plan in workload.members.values():
                if plan.redemption is not None:
                    http.append(asyncio.create_task(self._redeem(plan)))
                elif plan.adjustments:
                    http.append(asyncio.create_task(self._adjust_later(plan)))
                if plan.answers:
                    http.append(asyncio.create_task(self._answer(plan)))
            publish_task = asyncio.create_task(self._publish(producer, workload))
            waiting: set[asyncio.Task[Any]] = {publish_task, chaos_task, *http}
            while waiting:
                done, waiting = await asyncio.wait(
                    waiting | {gates_task}, return_when=asyncio.FIRST_COMPLETED
                )
                waiting.discard(gates_task)
                for task in done:
                    task.result()  # a failure ends the run
            stop_gates.set()
            await gates_task
            self.report.timings["drive"] = time.monotonic() - t1
            log(
                f"workload and chaos done in {self.report.timings['drive']:.0f}s "
                f"({self.report.kills} kills); restarting what is down"
            )
            self._restart_dead()
            await asyncio.to_thread(self.cluster.wait_ready, self.cluster.replicas, 120)
            t2 = time.monotonic()
            sentinel_ids = await self._sentinels(producer)
            await self._wait_quiet(sentinel_ids)
            self.report.timings["quiet"] = time.monotonic() - t2
            log(f"quiet after {self.report.timings['quiet']:.0f}s; comparing every member")
            t3 = time.monotonic()
            mismatches = await self._compare_all(workload)
            for attempt in range(2):
                if not mismatches:
                    break
                log(f"{len(mismatches)} mismatches; looking again in 15s ({attempt + 1}/2)")
                await asyncio.sleep(15)
                mismatches = await self._compare_all(workload)
            mismatches += await self._dead_letters(workload)
            mismatches += self.http_problems
            mismatches += await asyncio.to_thread(self._audit)
            self.report.mismatches = mismatches
            self.report.timings["compare"] = time.monotonic() - t3
        finally:
            stop_gates.set()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            with contextlib.suppress(Exception):
                await producer.stop()
            if self.services is not None:
                await self.services.close()
        return self.report


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_chaos(config: Config) -> Report:
    """Run it; whatever happens (a failure, Ctrl-C, SIGTERM), every process it started is
    stopped and its temporary folder removed before this returns or raises."""
    signal.signal(signal.SIGTERM, _interrupt)
    run = Run(config)
    started = time.monotonic()
    report = Report(config.seed)
    try:
        report = asyncio.run(run.run())
    except Exception as exc:  # noqa: BLE001 - whatever broke, clean up and say so
        report = run.report
        report.mismatches.append(f"run failed: {exc!r}")
        log(traceback.format_exc())
        for replica in run.cluster.replicas:
            if replica.process is not None and replica.process.poll() is not None:
                report.notes.append(f"{replica.name} last lines:\n{run.cluster.tail(replica, 10)}")
    finally:
        log("stopping everything")
        run.cluster.close(keep=config.keep)
    report.timings["total"] = time.monotonic() - started
    return report
