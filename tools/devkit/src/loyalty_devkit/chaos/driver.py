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
import time
import traceback
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaProducer

from loyalty_devkit.chaos.cluster import Cluster
from loyalty_devkit.chaos.comparison import audit, compare_all
from loyalty_devkit.chaos.config import PARTITIONS, SECRET, Config
from loyalty_devkit.chaos.customers import Customers
from loyalty_devkit.chaos.dead_letters import check_dead_letters
from loyalty_devkit.chaos.faults import inflict, restart_dead
from loyalty_devkit.chaos.http import Services
from loyalty_devkit.chaos.oracle import Outcomes
from loyalty_devkit.chaos.publishing import Publisher
from loyalty_devkit.chaos.quiet import send_sentinels, wait_quiet
from loyalty_devkit.chaos.report import Report, log
from loyalty_devkit.chaos.workload import Gate, generate
from loyalty_devkit.dev_tokens import make_token
from loyalty_devkit.local_broker import create_topics


class Run:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rng = random.Random(config.seed ^ 0x5EED)  # chaos timing and HTTP choices
        self.report = Report(config.seed)
        self.cluster = Cluster(secret=SECRET)
        self.outcomes = Outcomes()
        self.problems: list[str] = []  # wrong answers over HTTP, gates the platform never opened
        self.admin = make_token("chaos-admin", admin=True, secret=SECRET, ttl_s=6 * 3600)

    async def run(self) -> Report:
        cfg, cluster, report = self.config, self.cluster, self.report
        t0 = time.monotonic()
        log(f"seed={cfg.seed} events={cfg.events} members={cfg.members} kills={cfg.kills}")
        workload = generate(
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
        log(f"starting PostgreSQL, broker and 2 x 4 services in {cluster.workdir}")
        await asyncio.to_thread(cluster.start_servers)
        assert cluster.broker is not None
        await create_topics(cluster.broker.bootstrap, partitions=PARTITIONS)
        await asyncio.to_thread(cluster.start_services)
        report.timings["start"] = time.monotonic() - t0
        log(f"platform ready in {report.timings['start']:.0f}s")
        services = Services(cluster, self.admin, self.rng)
        publisher = Publisher(
            config=cfg,
            cluster=cluster,
            services=services,
            workload=workload,
            report=report,
            problems=self.problems,
        )
        customers = Customers(
            config=cfg,
            cluster=cluster,
            services=services,
            rng=self.rng,
            publisher=publisher,
            outcomes=self.outcomes,
            report=report,
            problems=self.problems,
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=cluster.broker.bootstrap,
            acks="all",
            enable_idempotence=False,
            linger_ms=20,
            request_timeout_ms=60_000,
        )
        await producer.start()
        stop_gates = asyncio.Event()
        try:
            t1 = time.monotonic()
            gates_task = asyncio.create_task(publisher.open_gates(stop_gates))
            chaos_task = asyncio.create_task(inflict(cfg, cluster, self.rng, report))
            http: list[asyncio.Task[None]] = []
            for plan in workload.members.values():
                if plan.redemption is not None:
                    http.append(asyncio.create_task(customers.redeem(plan)))
                elif plan.adjustments:
                    http.append(asyncio.create_task(customers.adjust_later(plan)))
                if plan.answers:
                    http.append(asyncio.create_task(customers.answer(plan)))
            publish_task = asyncio.create_task(publisher.publish(producer))
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
            report.timings["drive"] = time.monotonic() - t1
            log(
                f"workload and chaos done in {report.timings['drive']:.0f}s "
                f"({report.kills} kills); restarting what is down"
            )
            restart_dead(cluster)
            await asyncio.to_thread(cluster.wait_ready, cluster.replicas, 120)
            t2 = time.monotonic()
            sentinel_ids = await send_sentinels(producer)
            await wait_quiet(cluster, sentinel_ids, cfg.quiet_timeout_s)
            report.timings["quiet"] = time.monotonic() - t2
            log(f"quiet after {report.timings['quiet']:.0f}s; comparing every member")
            t3 = time.monotonic()
            mismatches = await compare_all(services, workload, self.outcomes)
            for attempt in range(2):
                if not mismatches:
                    break
                log(f"{len(mismatches)} mismatches; looking again in 15s ({attempt + 1}/2)")
                await asyncio.sleep(15)
                mismatches = await compare_all(services, workload, self.outcomes)
            mismatches += await check_dead_letters(cluster, workload, report)
            mismatches += self.problems
            mismatches += await asyncio.to_thread(audit, cluster)
            report.mismatches = mismatches
            report.timings["compare"] = time.monotonic() - t3
        finally:
            stop_gates.set()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            with contextlib.suppress(Exception):
                await producer.stop()
            await services.close()
        return report


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
