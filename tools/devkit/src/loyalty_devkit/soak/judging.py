"""The soak's verdicts, as pure functions of the samples (unit-tested in tests/soak/).

Memory: a service leaks when, after the warm-up, its resident memory still rises in the second
half of the load faster than `MemoryRule.limit_mib_per_hour` and is not slowing down (the second
half's slope is more than `MemoryRule.slowdown` times the first half's) and has risen by more
than `MemoryRule.noise_mib` over that half (one step of memory over a short run is no trend).
Caches that fill and
level off rise in the first half and flatten in the second: they pass. Slopes are Theil-Sen
estimates (the median of the slopes between every pair of samples), so one garbage-collection
spike or a page returned to the system at the edge of a half does not decide the verdict.

Falling behind: when the machine cannot give a service the CPU it needs (the soak runs beside
other work on two cores), its lag rises and its batches grow to the largest size, and so does
its memory: the backlog's working set, not a leak, and not told apart from one by a slope. A
rise above the limit while the service's own lag rises too (its second-half slope above
`MemoryRule.behind_lag_per_s`) is `INCONCLUSIVE`, neither a pass nor a leak.

Draining: once the load stops, every consumer group's lag and every outbox must reach zero and
stay there, within a bound.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MIB = 1024 * 1024


class Verdict(StrEnum):
    BOUNDED = "bounded"
    GROWING = "growing"  # grows without bound: the run fails
    NOT_JUDGED = "not judged"  # too few samples after the warm-up (a very short run)
    INCONCLUSIVE = "inconclusive"  # rose above the limit while the service fell behind


@dataclass(frozen=True)
class MemoryRule:
    #: MiB per hour the second half may still rise by (a leak of ~70 bytes per event at 200/s)
    limit_mib_per_hour: float = 50.0
    #: a second-half slope below this fraction of the first half's is a curve levelling off
    slowdown: float = 0.5
    #: samples each half needs for a verdict
    min_samples: int = 5
    #: MiB the second half must rise by over its length, whatever its slope: memory moves in
    #: steps (an allocator arena, a batch's buffers), and over a short run one step of a few
    #: hundred KiB is a steep slope
    noise_mib: float = 2.0
    #: records per second the lag may rise by in the second half before the service counts as
    #: falling behind (1 % of the default 200 events/s)
    behind_lag_per_s: float = 2.0


@dataclass(frozen=True)
class MemoryJudgement:
    verdict: Verdict
    start_bytes: int  # the first sample of the run
    warm_bytes: int  # the first sample after the warm-up
    end_bytes: int  # the last sample of the load
    first_half_mib_per_hour: float
    second_half_mib_per_hour: float
    reason: str
    #: how fast the service's lag rose in the second half (records/s; 0 without lag samples)
    lag_per_s: float = 0.0

    @property
    def growth_bytes(self) -> int:
        """From the end of the warm-up to the end of the load."""
        return self.end_bytes - self.warm_bytes


def theil_sen_slope(points: Sequence[tuple[float, float]]) -> float:
    """The median of the slopes between every pair of points with different x (0.0 if none)."""
    slopes = [
        (y2 - y1) / (x2 - x1)
        for i, (x1, y1) in enumerate(points)
        for x2, y2 in points[i + 1 :]
        if x2 != x1
    ]
    return statistics.median(slopes) if slopes else 0.0


def judge_memory(
    samples: Sequence[tuple[float, int]],
    *,
    warmup_s: float,
    load_end_s: float,
    rule: MemoryRule = MemoryRule(),
    lag: Sequence[tuple[float, int]] = (),
) -> MemoryJudgement:
    """`samples`: (seconds since the load started, resident bytes), in time order; the
    load runs from 0 to `load_end_s`, the first `warmup_s` of it are not judged. `lag`: the
    service's lag at the same times (records), to tell a leak from a backlog."""
    if not samples:
        return MemoryJudgement(Verdict.NOT_JUDGED, 0, 0, 0, 0.0, 0.0, "no samples")
    during = [(t, rss) for t, rss in samples if t <= load_end_s] or list(samples[:1])
    judged = [(t, rss) for t, rss in during if t >= warmup_s]
    start = during[0][1]
    warm = judged[0][1] if judged else during[-1][1]
    end = during[-1][1]
    middle = (warmup_s + load_end_s) / 2
    first = [(t, rss / MIB) for t, rss in judged if t < middle]
    second = [(t, rss / MIB) for t, rss in judged if t >= middle]
    per_hour = 3600.0
    slope1 = theil_sen_slope(first) * per_hour
    slope2 = theil_sen_slope(second) * per_hour
    rise_mib = slope2 * (load_end_s - middle) / per_hour
    behind = theil_sen_slope(
        [(t, float(n)) for t, n in lag if middle <= t <= load_end_s and t >= warmup_s]
    )
    if min(len(first), len(second)) < rule.min_samples:
        reason = (
            f"{len(first)} + {len(second)} samples after the warm-up; "
            f"{rule.min_samples} per half needed"
        )
        return MemoryJudgement(Verdict.NOT_JUDGED, start, warm, end, slope1, slope2, reason, behind)
    if rise_mib <= rule.noise_mib:
        reason = (
            f"second half {slope2:.0f} MiB/h, {rise_mib:.1f} MiB over the half "
            f"(noise floor {rule.noise_mib:g} MiB, limit {rule.limit_mib_per_hour:.0f} MiB/h)"
        )
        return MemoryJudgement(Verdict.BOUNDED, start, warm, end, slope1, slope2, reason, behind)
    if slope2 > rule.limit_mib_per_hour and behind > rule.behind_lag_per_s:
        reason = (
            f"second half rises {slope2:.0f} MiB/h (limit {rule.limit_mib_per_hour:.0f}) while "
            f"its lag rises {behind:.0f} records/s: it fell behind, and memory follows a "
            f"backlog; run again on a quieter machine or at a lower --rate"
        )
        return MemoryJudgement(
            Verdict.INCONCLUSIVE, start, warm, end, slope1, slope2, reason, behind
        )
    if slope2 > rule.limit_mib_per_hour and slope2 > rule.slowdown * slope1:
        reason = (
            f"second half rises {slope2:.0f} MiB/h (limit {rule.limit_mib_per_hour:.0f}) and is "
            f"not slowing down (first half {slope1:.0f} MiB/h)"
        )
        return MemoryJudgement(Verdict.GROWING, start, warm, end, slope1, slope2, reason, behind)
    if slope2 > rule.limit_mib_per_hour:
        reason = (
            f"second half {slope2:.0f} MiB/h, levelling off (first half {slope1:.0f} MiB/h, "
            f"more than {1 / rule.slowdown:.0f}x faster)"
        )
    else:
        reason = f"second half {slope2:.0f} MiB/h (limit {rule.limit_mib_per_hour:.0f})"
    return MemoryJudgement(Verdict.BOUNDED, start, warm, end, slope1, slope2, reason, behind)


@dataclass(frozen=True)
class DrainJudgement:
    drained: bool
    #: seconds from the end of the load to the first of the quiet polls (None: never)
    drain_s: float | None
    reason: str


def judge_drain(
    polls: Sequence[tuple[float, int, int]], *, load_end_s: float, quiet_polls: int = 2
) -> DrainJudgement:
    """`polls`: (seconds since the load started, total lag, total outbox backlog) taken after
    the load stopped, in time order. Drained at the first of `quiet_polls` consecutive polls
    where both are zero (a negative lag, which would mean the offsets are miscounted, is not
    zero)."""
    run = 0
    for index, (_, lag, backlog) in enumerate(polls):
        run = run + 1 if lag == 0 and backlog == 0 else 0
        if run >= quiet_polls:
            first = polls[index - quiet_polls + 1][0]
            return DrainJudgement(True, max(0.0, first - load_end_s), "lag and outboxes at zero")
    if not polls:
        return DrainJudgement(False, None, "no polls after the load")
    t, lag, backlog = polls[-1]
    return DrainJudgement(
        False,
        None,
        f"still lag {lag} and outbox backlog {backlog} {t - load_end_s:.0f}s after the load",
    )
