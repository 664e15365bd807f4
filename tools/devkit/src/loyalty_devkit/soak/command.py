"""`loyalty soak`: steady load on one process of each service, sampled, then judged.

Phases: start (a fresh PostgreSQL, broker and mail server, then one process of each service:
the chaos run's `Cluster`, with one replica) → load (shop events at `rate`/s and HTTP calls at
`http_rate`/s for `minutes`; every `interval_s` a sample of memory, outbox backlog and lag per
service) → drain (no more load; polls until every lag and outbox is zero, bounded) → verdicts
(`judging`), files under `<out>/<timestamp>/` (`plotting`) and a summary table.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata
from rich.console import Console
from rich.table import Table

from loyalty_devkit.chaos.cluster import Cluster, Replica
from loyalty_devkit.demo import HEADERS
from loyalty_devkit.dev_tokens import make_token
from loyalty_devkit.local_broker import create_topics
from loyalty_devkit.soak import plotting
from loyalty_devkit.soak.judging import (
    MIB,
    DrainJudgement,
    MemoryJudgement,
    MemoryRule,
    Verdict,
    judge_drain,
    judge_memory,
)
from loyalty_devkit.soak.sampling import SERVICES, Sample, Sampler
from loyalty_devkit.soak.workload import EventStream, HttpLoad

PARTITIONS = 4
EXIT_INCONCLUSIVE = 3
SECRET = "soak-run-secret-" + "0123456789abcdef" * 2
TICK_S = 0.25  # events go out in small bursts: fewer record batches for the broker to walk
#: the service settings the soak runs with (the rest are the services' defaults)
SERVICE_ENV = {
    "LOYALTY_LOG_FORMAT": "json",
    "LOYALTY_LOG_LEVEL": "WARNING",
    "LOYALTY_POINTS_JOBS_INTERVAL_S": "5",  # the jobs run often enough to show a leak of theirs
    "LOYALTY_FEEDBACK_JOBS_INTERVAL_S": "5",
}
SAMPLE_ATTEMPTS = 3
SAMPLE_ERRORS = (
    httpx.HTTPError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    KafkaError,
)
#: what the chaos cluster sets for its fault injection and the soak leaves at the default
CHAOS_ONLY = ("LOYALTY_KAFKA_SESSION_TIMEOUT_MS", "LOYALTY_DB_POOL_MAX")


@dataclass(frozen=True)
class SoakConfig:
    seed: int
    minutes: float = 10.0
    rate: float = 200.0
    http_rate: float = 20.0
    interval_s: float = 5.0
    warmup_s: float | None = None  # default: a fifth of the run
    drain_timeout_s: float = 300.0
    limit_mib_per_hour: float = MemoryRule().limit_mib_per_hour
    out: Path = Path(".local/soak")

    @property
    def duration_s(self) -> float:
        return self.minutes * 60

    @property
    def warmup(self) -> float:
        return self.duration_s / 5 if self.warmup_s is None else self.warmup_s

    def reproduce(self) -> str:
        args = [
            f"--minutes {self.minutes:g}",
            f"--rate {self.rate:g}",
            f"--http-rate {self.http_rate:g}",
            f"--seed {self.seed}",
        ]
        if self.interval_s != SoakConfig.interval_s:
            args.append(f"--interval {self.interval_s:g}")
        if self.warmup_s is not None:
            args.append(f"--warmup {self.warmup_s:g}")
        if self.limit_mib_per_hour != SoakConfig.limit_mib_per_hour:
            args.append(f"--limit-mib-per-hour {self.limit_mib_per_hour:g}")
        return f"make soak SOAK_ARGS={shlex.quote(' '.join(args))}"


@dataclass
class SoakResult:
    out_dir: Path
    samples: list[Sample] = field(default_factory=list)
    memory: dict[str, MemoryJudgement] = field(default_factory=dict)
    drain: DrainJudgement = field(
        default_factory=lambda: DrainJudgement(False, None, "not reached")
    )
    published: int = 0
    load_s: float = 0.0
    events: dict[str, int] = field(default_factory=dict)
    http: dict[tuple[str, int], int] = field(default_factory=dict)
    http_skipped: int = 0
    failure: str | None = None

    @property
    def failed(self) -> bool:
        return (
            self.failure is not None
            or not self.drain.drained
            or any(m.verdict is Verdict.GROWING for m in self.memory.values())
        )

    @property
    def inconclusive(self) -> list[str]:
        """Services whose memory rose while they fell behind (neither pass nor leak)."""
        return [s for s, m in self.memory.items() if m.verdict is Verdict.INCONCLUSIVE]

    @property
    def exit_code(self) -> int:
        """0 passed, 1 failed, 3 inconclusive (a service fell behind: run again)."""
        if self.failed:
            return 1
        return EXIT_INCONCLUSIVE if self.inconclusive else 0

    @property
    def outcome(self) -> str:
        if self.failed:
            return "FAILED"
        if self.inconclusive:
            return f"INCONCLUSIVE ({', '.join(self.inconclusive)} fell behind)"
        return "passed"


def log(message: str) -> None:
    print(f"[soak {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class Soak:
    def __init__(self, config: SoakConfig, out_dir: Path) -> None:
        self.config = config
        self.result = SoakResult(out_dir)
        self.cluster = Cluster(
            secret=SECRET, workdir=Path(tempfile.mkdtemp(prefix="loyalty-soak-"))
        )
        self.produced: dict[tuple[str, int], int] = {}  # (topic, partition) → end offset
        self.acked = 0

    # ------------------------------------------------------------------ platform
    def start_platform(self) -> None:
        """The chaos run's cluster, one process of each service, at the services' defaults."""
        self.cluster.start_servers()
        for name in CHAOS_ONLY:
            self.cluster.env.pop(name, None)
        self.cluster.env.update(SERVICE_ENV)
        self.cluster.replicas = [r for r in self.cluster.replicas if r.index == 0]

    def replica(self, service: str) -> Replica:
        return next(r for r in self.cluster.replicas if r.service == service)

    def pids(self) -> dict[str, int]:
        pids = {}
        for replica in self.cluster.replicas:
            if not replica.alive():
                raise RuntimeError(
                    f"{replica.service} exited during the soak:\n{self.cluster.tail(replica)}"
                )
            assert replica.process is not None
            pids[replica.service] = replica.process.pid
        return pids

    # ------------------------------------------------------------------ load
    def _acked(self, future: asyncio.Future[RecordMetadata]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        meta = future.result()
        where = (meta.topic, meta.partition)
        self.produced[where] = max(self.produced.get(where, 0), meta.offset + 1)
        self.acked += 1

    async def publish(
        self, producer: AIOKafkaProducer, events: EventStream, http: HttpLoad, t0: float
    ) -> None:
        cfg = self.config
        sent = 0
        calls = 0
        while (elapsed := time.monotonic() - t0) < cfg.duration_s:
            due = int(cfg.rate * elapsed) - sent
            futures = []
            for topic, key, value in events.take(max(0, due)):
                future = await producer.send(topic, value=value, key=key, headers=HEADERS)
                future.add_done_callback(self._acked)
                futures.append(future)
            sent += max(0, due)
            http_due = int(cfg.http_rate * elapsed) - calls
            http.fire(max(0, http_due))
            calls += max(0, http_due)
            if futures:
                await asyncio.gather(*futures)
            await asyncio.sleep(max(0.0, TICK_S - (time.monotonic() - t0 - elapsed)))
        await producer.flush()

    async def sample_loop(self, sampler: Sampler, t0: float, samples: list[Sample]) -> None:
        cfg = self.config
        n = 1
        while (next_at := n * cfg.interval_s) <= cfg.duration_s:
            await asyncio.sleep(max(0.0, t0 + next_at - time.monotonic()))
            samples += await self._sample(sampler, t0, "load")
            n += 1

    async def _sample(self, sampler: Sampler, t0: float, phase: str) -> list[Sample]:
        """One sample of every service; a read that fails is tried again (a service that
        died ends the run: `pids()` raises)."""
        for attempt in range(1, SAMPLE_ATTEMPTS + 1):
            try:
                return await sampler.take(
                    t_s=time.monotonic() - t0,
                    phase=phase,
                    pids=self.pids(),
                    produced_input=lambda: dict(self.produced),
                    published=self.acked,
                )
            except SAMPLE_ERRORS as exc:
                if attempt == SAMPLE_ATTEMPTS:
                    raise
                log(f"sample failed ({exc!r}); trying again")
                await asyncio.sleep(1)
        raise AssertionError("unreachable")

    async def drain(self, sampler: Sampler, t0: float, load_end_s: float) -> DrainJudgement:
        polls: list[tuple[float, int, int]] = []
        deadline = time.monotonic() + self.config.drain_timeout_s
        every = min(self.config.interval_s, 2.0)
        while True:
            taken = await self._sample(sampler, t0, "drain")
            self.result.samples += taken
            t = taken[0].t_s
            polls.append((t, sum(s.lag for s in taken), sum(s.outbox_backlog for s in taken)))
            verdict = judge_drain(polls, load_end_s=load_end_s)
            if verdict.drained or time.monotonic() > deadline:
                return verdict
            await asyncio.sleep(every)

    # ------------------------------------------------------------------ run
    async def run(self) -> SoakResult:
        cfg, result = self.config, self.result
        log(
            f"starting PostgreSQL, broker and one process of each service in {self.cluster.workdir}"
        )
        await asyncio.to_thread(self.start_platform)
        assert self.cluster.broker is not None
        bootstrap = self.cluster.broker.bootstrap
        await create_topics(bootstrap, partitions=PARTITIONS)
        await asyncio.to_thread(self.cluster.start_services)
        urls = {service: self.replica(service).url for service in SERVICES}
        sampler = Sampler(
            bootstrap=bootstrap,
            database_urls={s: self.cluster.database_url(s) for s in SERVICES},
            urls=urls,
            partitions=PARTITIONS,
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=False,  # tansu refuses it
            linger_ms=50,
            request_timeout_ms=60_000,
        )
        events = EventStream(cfg.seed)
        http = HttpLoad(urls, partial(make_token, secret=SECRET), events, cfg.seed)
        tasks: list[asyncio.Task[Any]] = []
        try:
            await sampler.start()
            await producer.start()
            log(
                f"platform ready; {cfg.rate:g} events/s and {cfg.http_rate:g} HTTP calls/s for "
                f"{cfg.minutes:g} min, a sample every {cfg.interval_s:g}s"
            )
            t0 = time.monotonic()
            result.samples += await self._sample(sampler, t0, "load")
            tasks = [
                asyncio.create_task(self.publish(producer, events, http, t0)),
                asyncio.create_task(self.sample_loop(sampler, t0, result.samples)),
            ]
            progress = asyncio.create_task(self._progress(t0))
            try:
                for task in asyncio.as_completed(tasks):
                    await task  # a failure (a service died) ends the run
            finally:
                progress.cancel()
            result.load_s = time.monotonic() - t0
            result.published = self.acked
            log(f"load done: {self.acked} events in {result.load_s:.0f}s; draining")
            await http.close()
            result.drain = await self.drain(sampler, t0, result.load_s)
            log(f"drain: {result.drain.reason}")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.close()
            with contextlib.suppress(Exception):
                await producer.stop()
            await sampler.close()
            result.events = dict(events.counts)
            result.http = dict(http.answers)
            result.http_skipped = http.skipped
        return result

    async def _progress(self, t0: float) -> None:
        while True:
            await asyncio.sleep(60)
            latest = {s.service: s for s in self.result.samples[-len(SERVICES) :]}
            figures = "  ".join(
                f"{name} {s.rss_bytes / MIB:.0f}MiB lag {s.lag} outbox {s.outbox_backlog}"
                for name, s in latest.items()
            )
            log(f"{(time.monotonic() - t0) / 60:.0f} min, {self.acked} events: {figures}")

    def keep_logs(self) -> None:
        """The services' and the broker's logs next to the figures (the rest is removed)."""
        logs = self.result.out_dir / "logs"
        logs.mkdir(exist_ok=True)
        for path in self.cluster.workdir.glob("*.log"):
            with contextlib.suppress(OSError):
                shutil.copy2(path, logs / path.name)


def judge(result: SoakResult, config: SoakConfig) -> None:
    rule = MemoryRule(
        limit_mib_per_hour=config.limit_mib_per_hour, behind_lag_per_s=config.rate / 100
    )
    load = [s for s in result.samples if s.phase == "load"]
    for service in SERVICES:
        mine = [s for s in load if s.service == service]
        result.memory[service] = judge_memory(
            [(s.t_s, s.rss_bytes) for s in mine],
            warmup_s=config.warmup,
            load_end_s=result.load_s,
            rule=rule,
            lag=[(s.t_s, s.lag) for s in mine],
        )


def write_files(result: SoakResult, config: SoakConfig) -> Path:
    out = result.out_dir
    plotting.write_samples(out / "samples.csv", result.samples)
    plotting.write_summary(out / "summary.csv", result.memory, result.samples, result.drain)
    verdicts = ", ".join(f"{s} {m.verdict.value}" for s, m in result.memory.items())
    drained = (
        f"drained in {result.drain.drain_s:.0f}s"
        if result.drain.drain_s is not None
        else "NOT drained"
    )
    png = out / "soak.png"
    plotting.plot(
        png,
        result.samples,
        warmup_s=config.warmup,
        load_end_s=result.load_s,
        title=(
            f"loyalty soak: {config.rate:g} events/s + {config.http_rate:g} HTTP/s for "
            f"{config.minutes:g} min (seed {config.seed})\nmemory: {verdicts}; {drained}"
        ),
    )
    return png


def summary_table(result: SoakResult) -> Table:
    """Memory in MiB (start of the load, end of the warm-up, end of the load, growth from the
    warm-up to the end), the Theil-Sen slopes of both halves in MiB/h, the verdict, the
    largest lag and outbox backlog sampled, and how fast the lag rose in the second half."""
    table = Table(title="soak (memory in MiB, slopes in MiB/h)", title_justify="left")
    table.add_column("service")
    for column in ("start", "warm", "end", "growth", "slope 1", "slope 2"):
        table.add_column(column, justify="right")
    table.add_column("memory")
    table.add_column("max lag", justify="right")
    table.add_column("max outbox", justify="right")
    table.add_column("lag/s 2", justify="right")
    for service, m in result.memory.items():
        mine = [s for s in result.samples if s.service == service]
        colour = {"bounded": "green", "growing": "red"}.get(m.verdict.value, "yellow")
        behind = f"{m.lag_per_s:+.1f}"
        table.add_row(
            service,
            f"{m.start_bytes / MIB:.1f}",
            f"{m.warm_bytes / MIB:.1f}",
            f"{m.end_bytes / MIB:.1f}",
            f"{m.growth_bytes / MIB:+.1f}",
            f"{m.first_half_mib_per_hour:+.1f}",
            f"{m.second_half_mib_per_hour:+.1f}",
            f"[{colour}]{m.verdict.value}[/]",
            str(max((s.lag for s in mine), default=0)),
            str(max((s.outbox_backlog for s in mine), default=0)),
            behind,
        )
    return table


def report(result: SoakResult, config: SoakConfig, png: Path | None, console: Console) -> None:
    if result.memory:
        # wide enough for every column when the output is a file or a pipe (rich assumes 80)
        wide = console if console.width >= 120 else Console(width=120, file=console.file)
        wide.print(summary_table(result))
        for service, m in result.memory.items():
            console.print(f"  {service}: {m.reason}", markup=False, soft_wrap=True)
    rate = result.published / result.load_s if result.load_s else 0.0
    console.print(
        f"published {result.published} events in {result.load_s:.0f}s ({rate:.0f}/s): "
        + ", ".join(f"{k} {v}" for k, v in sorted(result.events.items())),
        markup=False,
        soft_wrap=True,
    )
    if result.http:
        by_call: dict[str, list[str]] = {}
        for (what, status), count in sorted(result.http.items()):
            by_call.setdefault(what, []).append(f"{status or 'no answer'}x{count}")
        calls = "; ".join(f"{what} {' '.join(v)}" for what, v in by_call.items())
        console.print(
            f"HTTP: {calls}; {result.http_skipped} not sent (all slots busy)",
            markup=False,
            soft_wrap=True,
        )
    drain = result.drain
    if drain.drained and drain.drain_s is not None:
        console.print(f"drain: lag and outboxes at zero {drain.drain_s:.1f}s after the load")
    else:
        console.print(f"[red]drain: {drain.reason}[/]")
    if result.failure:
        console.print(f"[red]run failed: {result.failure}[/]", soft_wrap=True)
    console.print(
        f"figures: {result.out_dir}/samples.csv, summary.csv", markup=False, soft_wrap=True
    )
    if png is not None:
        console.print(f"plot: {png}", markup=False, soft_wrap=True)
    console.print(f"reproduce: {config.reproduce()}", markup=False, soft_wrap=True)
    console.print(f"soak {result.outcome}", markup=False, soft_wrap=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_soak(config: SoakConfig, console: Console) -> int:
    """Run it, write the figures, print the summary; 0 if memory stays bounded and everything
    drains, else 1. Every process it started is stopped whatever happens (Ctrl-C included)."""
    signal.signal(signal.SIGTERM, _interrupt)
    out_dir = config.out / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    soak = Soak(config, out_dir)
    result = soak.result
    try:
        asyncio.run(soak.run())
    except Exception as exc:  # noqa: BLE001 - whatever broke, clean up and say so
        result.failure = repr(exc)
        log(traceback.format_exc())
    finally:
        log("stopping everything")
        soak.keep_logs()
        soak.cluster.close()
    png: Path | None = None
    if result.samples:
        if not result.load_s:
            result.load_s = max(s.t_s for s in result.samples)
        judge(result, config)
        png = write_files(result, config)
    report(result, config, png, console)
    return result.exit_code
