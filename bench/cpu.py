"""CPU time per event, by where it was spent: this process (the consumer under test, in-process,
and the bench's own polling, the same for every contender), this run's PostgreSQL and this run's
broker, each counted as its process tree (other servers on the machine are not counted).

Read from /proc, so Linux only. A process's time is its own plus that of its children that
have ended (Linux adds those to the parent when it reaps them), so a backend that ends inside
the window (the ideal consumer closes its connection as soon as it is done) stays counted, once.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def tree_seconds(root: int) -> float:
    """User + system seconds of `root` and its descendants, with their ended children's."""
    children: dict[int, list[int]] = defaultdict(list)
    seconds: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(entry.name)
        children[int(fields[1])].append(pid)
        # utime, stime, cutime, cstime
        seconds[pid] = sum(int(ticks) for ticks in fields[11:15]) / _TICKS
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += seconds.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


def own_seconds(pid: int) -> float:
    """User + system seconds of one process alone, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(ticks) for ticks in fields[11:13]) / _TICKS


@dataclass(frozen=True)
class CpuPerEvent:
    """Microseconds of CPU per applied event."""

    python: float
    postgres: float
    broker: float

    @classmethod
    def median_of(cls, samples: Sequence[CpuPerEvent]) -> CpuPerEvent:
        """Each figure's median over the rounds."""
        return cls(
            **{
                f.name: statistics.median(getattr(s, f.name) for s in samples)
                for f in dataclasses.fields(cls)
            }
        )

    def __str__(self) -> str:
        return (
            f"CPU/event: this process {self.python:.0f} µs, PostgreSQL {self.postgres:.0f} µs, "
            f"broker {self.broker:.0f} µs"
        )


@dataclass(frozen=True)
class Servers:
    """The process ids at the root of this run's PostgreSQL and broker."""

    postgres: int
    broker: int


class CpuMeter:
    def __init__(self, servers: Servers) -> None:
        self._servers = servers
        self._python = time.process_time()
        self._postgres = tree_seconds(servers.postgres)
        self._broker = tree_seconds(servers.broker)

    def per_event(self, events: int) -> CpuPerEvent:
        python = time.process_time() - self._python
        time.sleep(0.05)  # for the postmaster to reap a backend that has just ended
        micro = 1e6 / max(1, events)
        return CpuPerEvent(
            python=python * micro,
            postgres=(tree_seconds(self._servers.postgres) - self._postgres) * micro,
            broker=(tree_seconds(self._servers.broker) - self._broker) * micro,
        )
