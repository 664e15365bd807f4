"""The soak's figures on disk: every sample as CSV, the verdicts as CSV, one PNG of memory,
outbox backlog and consumer lag over time per service (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from loyalty_devkit.soak.judging import MIB, DrainJudgement, MemoryJudgement
from loyalty_devkit.soak.sampling import SERVICES, Sample

COLOURS = {"points": "tab:blue", "tiers": "tab:purple", "notifications": "tab:orange"}
COLOURS["feedback"] = "tab:green"


def write_samples(path: Path, samples: Sequence[Sample]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "t_s",
                "phase",
                "service",
                "rss_bytes",
                "rss_mib",
                "outbox_backlog",
                "lag",
                "published",
            ]
        )
        for s in samples:
            writer.writerow(
                [
                    f"{s.t_s:.1f}",
                    s.phase,
                    s.service,
                    s.rss_bytes,
                    f"{s.rss_bytes / MIB:.1f}",
                    s.outbox_backlog,
                    s.lag,
                    s.published,
                ]
            )


def write_summary(
    path: Path,
    memory: Mapping[str, MemoryJudgement],
    samples: Sequence[Sample],
    drain: DrainJudgement,
) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "service",
                "rss_start_mib",
                "rss_after_warmup_mib",
                "rss_end_mib",
                "growth_mib",
                "first_half_mib_per_hour",
                "second_half_mib_per_hour",
                "memory_verdict",
                "max_lag",
                "max_outbox_backlog",
                "drain_s",
                "second_half_lag_per_s",
            ]
        )
        for service, m in memory.items():
            mine = [s for s in samples if s.service == service]
            writer.writerow(
                [
                    service,
                    f"{m.start_bytes / MIB:.1f}",
                    f"{m.warm_bytes / MIB:.1f}",
                    f"{m.end_bytes / MIB:.1f}",
                    f"{m.growth_bytes / MIB:.1f}",
                    f"{m.first_half_mib_per_hour:.1f}",
                    f"{m.second_half_mib_per_hour:.1f}",
                    m.verdict.value,
                    max((s.lag for s in mine), default=0),
                    max((s.outbox_backlog for s in mine), default=0),
                    "" if drain.drain_s is None else f"{drain.drain_s:.1f}",
                    f"{m.lag_per_s:.2f}",
                ]
            )


def plot(
    path: Path,
    samples: Sequence[Sample],
    *,
    warmup_s: float,
    load_end_s: float,
    title: str,
) -> None:
    figure, (memory, backlog, lag) = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    for service in SERVICES:
        mine = [s for s in samples if s.service == service]
        minutes = [s.t_s / 60 for s in mine]
        colour = COLOURS[service]
        memory.plot(minutes, [s.rss_bytes / MIB for s in mine], label=service, color=colour)
        backlog.plot(minutes, [s.outbox_backlog for s in mine], label=service, color=colour)
        lag.plot(minutes, [s.lag for s in mine], label=service, color=colour)
    memory.set_ylabel("resident memory (MiB)")
    backlog.set_ylabel("outbox backlog (rows)")
    lag.set_ylabel("consumer lag (records)")
    lag.set_xlabel("minutes since the load started")
    for axes in (memory, backlog, lag):
        axes.axvspan(0, warmup_s / 60, color="0.92", zorder=0)
        axes.axvline(load_end_s / 60, color="0.4", linestyle="--", linewidth=1)
        axes.grid(True, alpha=0.3)
    memory.text(warmup_s / 120, 0.02, "warm-up", transform=memory.get_xaxis_transform())
    memory.text(
        load_end_s / 60, 0.02, " load stops", transform=memory.get_xaxis_transform(), color="0.3"
    )
    memory.legend(loc="upper left", ncols=4)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
