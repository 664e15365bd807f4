"""The whole platform at a steady offered load: produce → `points.earned` latency and CPU per
purchase of each service, of PostgreSQL and of the broker (issue 22, target 2).

Each round starts the platform as `make run` does (`loyalty run --local-dir DIR` as a child:
PostgreSQL, the tansu broker, the four services, console, gateway and the local mail server, on
free ports of its own), enrols `--members` as the soak's shop does, then offers the soak's
purchases (tools/devkit/.../soak/workload.py: 1-3 items, half within the return window, 3 % by
members not enrolled) at `--rate` for `--seconds`. A consumer in this process (its own group on
loyalty.points) matches each `points.earned` to its purchase by `data.causation_id`. Latency runs
from when the purchase was due on the offered-rate timeline, not from when it was sent, so a
stalled producer counts (no coordinated omission). Enrolled members get their notifications
(email to the local mail server: tier upgrades, mostly); 20,000 members buy about once each in
a run of 20,000 purchases (2,000 would buy ten times in 20 s, and upgrade at a rate no shop of
this size sees). `--unenrolled` leaves every member unknown, so notifications sends nothing, as
with bench.points_throughput's purchases.

CPU is read from /proc (bench/cpu.py) per part: each service's process tree, PostgreSQL's (split
by the database of each backend from pg_stat_activity; "other" is the server's own processes and
backends that ended) and the broker's, from the first purchase offered until that part is back
to its idle level (measured for 3 s before) for two seconds, or at most 120 s after the last
purchase earned (a part still busy then is named: its figure is a lower bound): each part's
backlog counts, not the others' idling while one catches up. The idle platform polls
(consumers, relays), so idling is a share of every figure: it is printed too, as the idle CPU
of as many seconds. The runner's log relay and mail server, the console, the gateway and this
process are not counted; the broker's figure includes serving this process's producer and
consumer.

The reference, in the same round: the same purchases at the same rate through a bare broker of
the same build, read back by the same consumer. Chosen because the broker is the part the
platform cannot do without and the target halves: its latency is the floor of one hop on this
broker (its fetch does not wake on new data, docs/operations.md) and its CPU what moving each
purchase in and out once costs. The platform's figures are that hop several times over plus the
services' work; the ideal consumer (bench.points_latency) is the reference for points alone.

    .venv/bin/python -m bench.platform [--rate 1000] [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.cpu import own_seconds, tree_seconds
from loyalty_devkit.demo import Message
from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_devkit.platform_runner import PROCESSES, SERVICES
from loyalty_devkit.soak.workload import EventStream
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS

VENV_BIN = Path(sys.executable).parent
#: cores a part may keep busy and count as idle after the enrolments (idle, the consumers and
#: relays poll the broker: about 0.05 cores a service, 0.2 the broker, on this machine)
WARM_CEILING = {"broker": 0.35, "postgres": 0.1} | {s.name: 0.12 for s in SERVICES}
#: over its idle figure, cores a part may keep busy and count as having caught up
MARGIN = 0.03
#: at most this many seconds after the last purchase earned, CPU is counted (a part still busy
#: then is named, and its figure is a lower bound)
DRAIN_CAP_S = 120.0
#: seconds the idle platform is measured for before the purchases are offered
IDLE_S = 3.0
#: variables that would make the runner use servers other than its own
FOREIGN = ("LOYALTY_KAFKA_BOOTSTRAP", "LOYALTY_DATABASE_URL", "LOYALTY_NOTIFICATIONS_SMTP_HOST")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def workload(members: int, count: int, seed: int) -> tuple[list[Message], list[Message]]:
    """The soak's enrolments, then its purchases (of those members, a few of guests)."""
    stream = EventStream(seed)
    enrolments = [stream.enrolment() for _ in range(members)]
    return enrolments, [stream.purchase() for _ in range(count)]


def event_id(message: Message) -> str:
    return str(orjson.loads(message[2])["id"])


@dataclass(frozen=True)
class Latency:
    p50: float
    p99: float
    max: float
    seen: int

    @classmethod
    def of(cls, milliseconds: Sequence[float]) -> Latency:
        if not milliseconds:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        return cls(
            percentile(milliseconds, 0.5),
            percentile(milliseconds, 0.99),
            max(milliseconds),
            len(milliseconds),
        )

    def __str__(self) -> str:
        return f"p50 {self.p50:6.1f} ms  p99 {self.p99:6.1f} ms  max {self.max:6.1f} ms"


async def offer(
    bootstrap: str, messages: Sequence[Message], rate: float, due: dict[str, float]
) -> None:
    """Produce at `rate` messages/s; `due[event id]` is when each was due on that timeline."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=1)
    await producer.start()
    try:
        ids = [event_id(m) for m in messages]
        started = time.perf_counter()
        for n, (topic, key, value) in enumerate(messages):
            at = started + n / rate
            if (wait := at - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            due[ids[n]] = at
            await producer.send(topic, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def send_all(bootstrap: str, messages: Sequence[Message]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=20)
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send(topic, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def earned_cause(value: bytes) -> str | None:
    event = orjson.loads(value)
    return event["data"].get("causation_id") if event.get("type") == "points.earned" else None


def own_id(value: bytes) -> str | None:
    return str(orjson.loads(value)["id"])


class Observer:
    """One consumer of `topic` in a group of its own, joined before anything is offered so a
    group join is never in a figure; `match` says which offered event a record answers."""

    def __init__(self, bootstrap: str, topic: str, match: Callable[[bytes], str | None]) -> None:
        self.group = f"bench-platform-{uuid.uuid4().hex[:6]}"
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=self.group,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
            enable_auto_commit=False,
            max_poll_interval_ms=900_000,
        )
        self._match = match

    async def start(self) -> None:
        await self.consumer.start()
        while not self.consumer.assignment():
            await self.consumer.getmany(timeout_ms=100)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def watch(self, due: dict[str, float], expect: int, timeout_s: float) -> list[float]:
        """Milliseconds from due to seen, until `expect` offered events were answered."""
        latencies: list[float] = []
        deadline = time.monotonic() + timeout_s
        while len(latencies) < expect and time.monotonic() < deadline:
            batch = await self.consumer.getmany(timeout_ms=100)
            arrived = time.perf_counter()
            for records in batch.values():
                for record in records:
                    cause = self._match(record.value or b"{}")
                    if cause is not None and (at := due.pop(cause, None)) is not None:
                        latencies.append((arrived - at) * 1000)
        return latencies


@dataclass
class Platform:
    """`loyalty run` as a child process, on ports of its own, in a folder of its own."""

    local_dir: Path
    broker_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=lambda: {p.name: free_port() for p in PROCESSES})
    runner: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def postgres(self) -> LocalPostgres:
        """Where the runner's PostgreSQL is (only to reach it: the runner owns it)."""
        return LocalPostgres(self.local_dir / "pgdata")

    def launch(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
        env.update({f"LOYALTY_{name.upper()}_PORT": str(p) for name, p in self.ports.items()})
        command = [str(VENV_BIN / "loyalty"), "run", "--local-dir", str(self.local_dir),
                   "--broker-port", str(self.broker_port)]  # fmt: skip
        with (self.local_dir / "runner.log").open("ab") as log:
            return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    async def start(self, timeout_s: float = 180) -> None:
        self.runner = self.launch()
        deadline = time.monotonic() + timeout_s
        pending = {p.name: f"http://127.0.0.1:{self.ports[p.name]}{p.probe}" for p in PROCESSES}
        async with httpx.AsyncClient(timeout=2) as client:
            while pending:
                if self.runner.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"platform not ready: {sorted(pending)}; see runner.log")
                for name, url in list(pending.items()):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(url)).status_code == 200:
                            del pending[name]
                await asyncio.sleep(0.3)

    def stop(self) -> None:
        if self.runner is not None and self.runner.poll() is None:
            self.runner.terminate()  # the runner stops its services, then broker and PostgreSQL
            try:
                self.runner.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.runner.kill()
                self.runner.wait()

    def roots(self) -> dict[str, int]:
        """The root process of each service, of the broker and of PostgreSQL."""
        assert self.runner is not None
        found = {"postgres": self.postgres.postmaster_pid()}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if ppid != self.runner.pid:
                continue
            names = [Path(a.decode(errors="replace")).name for a in argv[:2]]
            for service in SERVICES:
                if f"loyalty-{service.name}" in names:
                    found[service.name] = int(entry.name)
            if names[0].startswith("tansu"):
                found["broker"] = int(entry.name)
        missing = ({s.name for s in SERVICES} | {"broker"}) - found.keys()
        assert not missing, f"not found among the runner's children: {missing}"
        return found


BACKENDS = "SELECT pid, datname FROM pg_stat_activity WHERE datname IS NOT NULL"


@dataclass(frozen=True)
class CpuSnapshot:
    trees: dict[str, float]
    backends: dict[int, tuple[str, float]]


async def cpu_snapshot(roots: dict[str, int], db: asyncpg.Connection) -> CpuSnapshot:
    rows = await db.fetch(BACKENDS + " AND pid <> pg_backend_pid()")
    return CpuSnapshot(
        trees={name: tree_seconds(pid) for name, pid in roots.items()},
        backends={row["pid"]: (row["datname"], own_seconds(row["pid"])) for row in rows},
    )


Mark = tuple[float, CpuSnapshot]  # when (perf_counter), what


def cores(before: Mark, after: Mark, part: str) -> float:
    """Cores one part of the platform kept busy between two snapshots."""
    return (after[1].trees[part] - before[1].trees[part]) / (after[0] - before[0])


def quiet_since(marks: Sequence[Mark], part: str, ceiling: float) -> int:
    """The first mark after which `part` has stayed under `ceiling` cores."""
    i = len(marks) - 1
    while i > 0 and cores(marks[i - 1], marks[i], part) <= ceiling:
        i -= 1
    return i


@dataclass(frozen=True)
class Settled:
    """Each part's CPU from when it settled (or the last mark, for a part still busy)."""

    cpu: CpuSnapshot
    seconds: float
    busy: list[str]


async def settled(
    roots: dict[str, int], db: asyncpg.Connection, ceilings: dict[str, float], timeout_s: float
) -> Settled:
    """Wait until every part (service, PostgreSQL, broker) has stayed under its ceiling for two
    seconds: all caught up (tansu's end offsets cannot be trusted for consumer lag, see
    soak/sampling.py), or until `timeout_s`. Each part's CPU is taken from when it settled, so one
    part's backlog does not count the others' idling meanwhile."""
    started = time.perf_counter()
    marks: list[Mark] = [(started, await cpu_snapshot(roots, db))]
    while True:
        await asyncio.sleep(1.0)
        marks.append((time.perf_counter(), await cpu_snapshot(roots, db)))
        since = {part: quiet_since(marks, part, ceilings[part]) for part in roots}
        busy = sorted(p for p, i in since.items() if i > len(marks) - 3)
        if not busy or time.perf_counter() - started > timeout_s:
            break
    since |= {part: len(marks) - 1 for part in busy}
    trees = {part: marks[i][1].trees[part] for part, i in since.items()}
    backends = marks[since["postgres"]][1].backends
    return Settled(CpuSnapshot(trees, backends), marks[max(since.values())][0] - started, busy)


@dataclass(frozen=True)
class PlatformCpu:
    """Microseconds of CPU per purchase."""

    services: dict[str, float]
    postgres: float
    databases: dict[str, float]
    broker: float

    @property
    def counted(self) -> float:
        """The target's sum: the four services and PostgreSQL, the broker excluded."""
        return sum(self.services.values()) + self.postgres

    @classmethod
    def between(cls, before: CpuSnapshot, after: CpuSnapshot, purchases: float) -> PlatformCpu:
        micro = 1e6 / purchases
        spent = {k: (after.trees[k] - before.trees[k]) * micro for k in after.trees}
        databases: dict[str, float] = {}
        for pid, (datname, seconds) in after.backends.items():
            earlier = before.backends.get(pid, (datname, 0.0))[1]
            databases[datname] = databases.get(datname, 0.0) + (seconds - earlier) * micro
        databases["other"] = spent["postgres"] - sum(databases.values())
        return cls(
            services={s.name: spent[s.name] for s in SERVICES},
            postgres=spent["postgres"],
            databases=databases,
            broker=spent["broker"],
        )

    @classmethod
    def median_of(cls, samples: Sequence[PlatformCpu]) -> PlatformCpu:
        def med(values: list[float]) -> float:
            return statistics.median(values)

        names = sorted({d for s in samples for d in s.databases})
        return cls(
            services={n: med([s.services[n] for s in samples]) for n in samples[0].services},
            postgres=med([s.postgres for s in samples]),
            databases={n: med([s.databases.get(n, 0.0) for s in samples]) for n in names},
            broker=med([s.broker for s in samples]),
        )

    def lines(self) -> list[str]:
        services = ", ".join(f"{n} {v:.0f}" for n, v in self.services.items())
        databases = ", ".join(
            f"{n.removeprefix('loyalty_')} {v:.0f}"
            for n, v in sorted(self.databases.items(), key=lambda kv: -kv[1])
        )
        return [
            f"CPU/purchase (µs): {services}",
            f"  PostgreSQL {self.postgres:.0f} (by database: {databases})",
            f"  four services + PostgreSQL {self.counted:.0f} µs (target ≤ 500); "
            f"broker {self.broker:.0f} µs",
        ]

    def idle_line(self) -> str:
        services = ", ".join(f"{n} {v:.0f}" for n, v in self.services.items())
        return (
            f"  of which idling (the idle platform's CPU over as many purchases): {services}, "
            f"PostgreSQL {self.postgres:.0f}, sum {self.counted:.0f}, broker {self.broker:.0f}"
        )


@dataclass(frozen=True)
class PlatformRound:
    latency: Latency
    cpu: PlatformCpu
    drain_s: float
    busy: list[str]
    idle: PlatformCpu
    idle_cores: dict[str, float]


async def platform_round(
    rate: float, seconds: float, seed: int, members: int, enrol: bool
) -> PlatformRound:
    local_dir = Path(tempfile.mkdtemp(prefix="loyalty-bench-platform-"))
    platform = Platform(local_dir)
    try:
        await platform.start()
        roots = platform.roots()
        enrolments, purchases = workload(members, int(rate * seconds) + 1, seed)
        warm, purchases = purchases[:1], purchases[1:]
        observer = Observer(platform.bootstrap, LOYALTY_POINTS, earned_cause)
        await observer.start()
        db = await asyncpg.connect(platform.postgres.dsn())
        try:
            # the members enrol and a first purchase goes through: group joins, caches and
            # the enrolments' own work are not measured
            if enrol:
                await send_all(platform.bootstrap, enrolments)
            due: dict[str, float] = {}
            await offer(platform.bootstrap, warm, rate, due)
            if not await observer.watch(due, expect=1, timeout_s=120):
                raise TimeoutError("the first purchase earned nothing in 120 s")
            if busy := (await settled(roots, db, WARM_CEILING, timeout_s=300)).busy:
                print(f"  (still busy with the enrolments after 300 s: {', '.join(busy)})")
            idle_from = (time.perf_counter(), await cpu_snapshot(roots, db))
            await asyncio.sleep(IDLE_S)
            before = await cpu_snapshot(roots, db)
            idle_to = (time.perf_counter(), before)
            idle_cores = {part: cores(idle_from, idle_to, part) for part in roots}
            # what idling costs per purchase at this rate: the same seconds' share
            idle = PlatformCpu.between(idle_from[1], before, rate * (idle_to[0] - idle_from[0]))
            watcher = asyncio.create_task(
                observer.watch(due, len(purchases), timeout_s=seconds + 120)
            )
            await offer(platform.bootstrap, purchases, rate, due)
            latencies = await watcher
            end = await settled(
                roots, db, {p: c + MARGIN for p, c in idle_cores.items()}, timeout_s=DRAIN_CAP_S
            )
        finally:
            await db.close()
            await observer.stop()
        if len(latencies) < len(purchases):
            print(f"  (only {len(latencies)} of {len(purchases)} purchases earned points)")
        cpu = PlatformCpu.between(before, end.cpu, len(purchases))
    except BaseException:
        print(f"  (the platform's logs are kept in {local_dir})")
        raise
    finally:
        platform.stop()
    shutil.rmtree(local_dir, ignore_errors=True)
    return PlatformRound(Latency.of(latencies), cpu, end.seconds, end.busy, idle, idle_cores)


@dataclass(frozen=True)
class ReferenceRound:
    latency: Latency
    broker: float
    idle: float


async def reference_round(rate: float, seconds: float, seed: int, members: int) -> ReferenceRound:
    broker = LocalBroker(free_port())
    broker.start()
    try:
        assert broker.pid is not None
        await create_topics(broker.bootstrap, topics=[COMMERCE_PURCHASES])
        _, purchases = workload(members, int(rate * seconds) + 1, seed)
        purchases = purchases[1:]
        observer = Observer(broker.bootstrap, COMMERCE_PURCHASES, own_id)
        await observer.start()
        try:
            due: dict[str, float] = {}
            idle_from, idle_started = tree_seconds(broker.pid), time.perf_counter()
            await asyncio.sleep(IDLE_S)
            before = tree_seconds(broker.pid)
            idle = (before - idle_from) / (rate * (time.perf_counter() - idle_started))
            watcher = asyncio.create_task(
                observer.watch(due, len(purchases), timeout_s=seconds + 120)
            )
            await offer(broker.bootstrap, purchases, rate, due)
            latencies = await watcher
            spent = tree_seconds(broker.pid) - before
        finally:
            await observer.stop()
        return ReferenceRound(Latency.of(latencies), spent * 1e6 / len(purchases), idle * 1e6)
    finally:
        broker.stop()


async def main(rate: float, seconds: float, rounds: int, members: int, unenrolled: bool) -> None:
    platforms: list[PlatformRound] = []
    references: list[ReferenceRound] = []
    expected = int(rate * seconds)
    for n in range(rounds):
        started = time.monotonic()
        # alternate the order, so neither always runs on a warmer machine
        for first in (True, False) if n % 2 == 0 else (False, True):
            if first:
                ref = await reference_round(rate, seconds, n, members)
                references.append(ref)
                print(
                    f"round {n + 1}: reference  {ref.latency}  ({ref.latency.seen}/{expected} seen)"
                    f"   broker {ref.broker:.0f} µs/purchase (idling {ref.idle:.0f})"
                )
            else:
                run = await platform_round(rate, seconds, n, members, enrol=not unenrolled)
                platforms.append(run)
                print(
                    f"round {n + 1}: platform   {run.latency}  ({run.latency.seen}/{expected} "
                    f"earned; settled {run.drain_s:.0f} s after the last; idle "
                    f"{sum(run.idle_cores.values()):.2f} cores)"
                )
                if run.busy:
                    print(
                        f"    still busy {DRAIN_CAP_S:.0f} s after the last purchase earned: "
                        f"{', '.join(run.busy)} (their figures are lower bounds)"
                    )
                for line in [*run.cpu.lines(), run.idle.idle_line()]:
                    print(f"    {line}")
        print(f"  (round took {time.monotonic() - started:.0f} s)")

    def med(values: Sequence[float]) -> float:
        return statistics.median(values)

    print()
    who = f"{members:,} members, " + ("never enrolled" if unenrolled else "enrolled")
    print(f"median over {rounds} rounds at {rate:g} purchases/s for {seconds:g} s, {who}:")
    for name, what, latencies in (
        ("platform", "produce → points.earned", [r.latency for r in platforms]),
        ("reference", "produce → a plain consumer", [r.latency for r in references]),
    ):
        median = Latency(
            med([x.p50 for x in latencies]),
            med([x.p99 for x in latencies]),
            med([x.max for x in latencies]),
            int(med([x.seen for x in latencies])),
        )
        print(f"  {name:<10} {median}   ({what})")
    for line in [
        *PlatformCpu.median_of([r.cpu for r in platforms]).lines(),
        PlatformCpu.median_of([r.idle for r in platforms]).idle_line(),
    ]:
        print(f"  {line}")
    print(
        f"  reference: broker {med([r.broker for r in references]):.0f} µs/purchase, "
        f"of which idling {med([r.idle for r in references]):.0f} "
        "(one producer and one consumer on a bare broker)"
    )
    print(
        "reproduce: .venv/bin/python -m bench.platform "
        f"--rate {rate:g} --seconds {seconds:g} --rounds {rounds} --members {members}"
        + (" --unenrolled" if unenrolled else "")
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument(
        "--unenrolled",
        action="store_true",
        help="no member enrols: notifications then sends nothing (as in bench.points_throughput)",
    )
    args = parser.parse_args()
    uvloop.run(main(args.rate, args.seconds, args.rounds, args.members, args.unenrolled))
    sys.exit(0)
