"""The faults a run inflicts while the workload flows: SIGKILLs of random replicas (each
restarted a few seconds later), one PostgreSQL restart, one broker pause past the session
timeout."""

from __future__ import annotations

import asyncio
import random
import time

from loyalty_devkit.chaos.cluster import SESSION_TIMEOUT_MS, Cluster
from loyalty_devkit.chaos.config import Config
from loyalty_devkit.chaos.report import Report, log


async def inflict(config: Config, cluster: Cluster, rng: random.Random, report: Report) -> None:
    duration = config.duration_s
    kills = sorted(rng.uniform(0.03, 0.97) * duration for _ in range(config.kills))
    events: list[tuple[float, str]] = [(t, "kill") for t in kills]
    if config.postgres_restart:
        events.append((0.4 * duration, "postgres"))
    if config.broker_pause:
        events.append((0.7 * duration, "broker"))
    events.sort()
    started = time.monotonic()
    for at, what in events:
        wait = at - (time.monotonic() - started)
        if wait > 0:
            await asyncio.sleep(wait)
        if what == "kill":
            victim = cluster.kill(rng)
            if victim is not None:
                report.kills += 1
                log(f"SIGKILL {victim.name} (kill {report.kills})")
                asyncio.get_running_loop().call_later(rng.uniform(0.5, 4.0), restart_dead, cluster)
        elif what == "postgres":
            log("PostgreSQL: stop, 3 s down, start (same data dir)")
            await asyncio.to_thread(cluster.restart_postgres, 3.0)
            log("PostgreSQL back")
        else:
            pause = SESSION_TIMEOUT_MS / 1000 + 4
            log(f"broker: SIGSTOP for {pause:.0f}s (session timeout {SESSION_TIMEOUT_MS} ms)")
            cluster.pause_broker()
            await asyncio.sleep(pause)
            cluster.resume_broker()
            log("broker: SIGCONT")


def restart_dead(cluster: Cluster) -> None:
    for replica in cluster.restart_dead():
        log(f"restarted {replica.name}")
