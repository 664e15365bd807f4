"""CPU time per event, by where it was spent: this process (the consumer under test, in-process,
and the bench's own polling, the same for every contender), PostgreSQL's processes and the
broker's. Read from /proc, so Linux only. A backend that ends inside the window (the ideal
consumer closes its connection as soon as it is done) is counted through its parent: once the
postmaster has reaped it, its time is in the postmaster's children's time."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_GROUPS = {"postgres": "postgres", "broker": "tansu"}


def _cpu_by_process(prefix: str) -> dict[int, float]:
    """User + system seconds of every process whose name starts with `prefix`, with those of
    its children that have ended."""
    seconds: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "comm").read_text().startswith(prefix):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        seconds[int(entry.name)] = sum(int(ticks) for ticks in fields[11:15]) / _TICKS
    return seconds


@dataclass(frozen=True)
class CpuPerEvent:
    """Microseconds of CPU per applied event."""

    python: float
    postgres: float
    broker: float

    def __str__(self) -> str:
        return (
            f"CPU/event: this process {self.python:.0f} µs, PostgreSQL {self.postgres:.0f} µs, "
            f"broker {self.broker:.0f} µs"
        )


class CpuMeter:
    def __init__(self) -> None:
        self._python = time.process_time()
        self._others = {group: _cpu_by_process(name) for group, name in _GROUPS.items()}

    def per_event(self, events: int) -> CpuPerEvent:
        python = time.process_time() - self._python
        time.sleep(0.2)  # for the postmaster to reap a backend that has just ended
        spent = {
            group: sum(
                now - self._others[group].get(pid, 0.0)
                for pid, now in _cpu_by_process(name).items()
            )
            for group, name in _GROUPS.items()
        }
        micro = 1e6 / max(1, events)
        return CpuPerEvent(
            python=python * micro,
            postgres=spent["postgres"] * micro,
            broker=spent["broker"] * micro,
        )
