"""The soak's verdicts, on made-up samples: a leak fails, a cache that fills and levels off
passes, noise and a single spike do not decide, and lag and outboxes must reach zero and stay."""

from __future__ import annotations

import math
import random

import pytest

from loyalty_devkit.soak.judging import (
    MIB,
    MemoryRule,
    Verdict,
    judge_drain,
    judge_memory,
    theil_sen_slope,
)

LOAD_S = 600.0
WARMUP_S = 120.0
EVERY_S = 5.0


def series(mib_at: object, *, noise_mib: float = 0.0, seed: int = 1) -> list[tuple[float, int]]:
    """A sample every 5 s over a 10-minute load, resident memory from `mib_at(t)` plus noise."""
    rng = random.Random(seed)
    assert callable(mib_at)
    return [
        (t, int((mib_at(t) + rng.uniform(-noise_mib, noise_mib)) * MIB))
        for t in (n * EVERY_S for n in range(int(LOAD_S / EVERY_S) + 1))
    ]


DEFAULT = MemoryRule()


def judge(samples: list[tuple[float, int]], rule: MemoryRule = DEFAULT) -> Verdict:
    return judge_memory(samples, warmup_s=WARMUP_S, load_end_s=LOAD_S, rule=rule).verdict


def test_theil_sen_finds_the_slope_of_a_line_whatever_one_outlier_says() -> None:
    line = [(float(x), 3.0 * x + 7) for x in range(20)]
    assert theil_sen_slope(line) == pytest.approx(3.0)
    line[-1] = (19.0, 10_000.0)
    assert theil_sen_slope(line) == pytest.approx(3.0)


def test_theil_sen_of_too_few_points_is_flat() -> None:
    assert theil_sen_slope([]) == 0.0
    assert theil_sen_slope([(1.0, 5.0)]) == 0.0
    assert theil_sen_slope([(1.0, 5.0), (1.0, 9.0)]) == 0.0


def test_flat_memory_with_allocator_noise_is_bounded() -> None:
    assert judge(series(lambda t: 120.0, noise_mib=2.0)) is Verdict.BOUNDED


def test_a_steady_leak_above_the_limit_grows_without_bound() -> None:
    leak = series(lambda t: 100.0 + 120.0 * t / 3600, noise_mib=1.0)  # 120 MiB/h
    judgement = judge_memory(leak, warmup_s=WARMUP_S, load_end_s=LOAD_S)
    assert judgement.verdict is Verdict.GROWING
    assert judgement.second_half_mib_per_hour == pytest.approx(120, rel=0.2)
    assert "not slowing down" in judgement.reason


def test_a_slow_rise_under_the_limit_is_bounded() -> None:
    assert judge(series(lambda t: 100.0 + 20.0 * t / 3600, noise_mib=0.5)) is Verdict.BOUNDED


def test_the_limit_is_the_callers() -> None:
    slow = series(lambda t: 100.0 + 20.0 * t / 3600)
    assert judge(slow, MemoryRule(limit_mib_per_hour=10, noise_mib=0.5)) is Verdict.GROWING


def test_a_cache_that_fills_then_levels_off_is_bounded() -> None:
    # fills fast in the first half after the warm-up, flat in the second
    cache = series(lambda t: 100.0 + 30.0 * min(t, 330.0) / 330.0, noise_mib=0.3)
    assert judge(cache) is Verdict.BOUNDED


def test_growth_slowing_to_less_than_half_its_pace_is_levelling_off() -> None:
    # an exponential approach to a ceiling: fast at first, slower and slower
    curve = series(lambda t: 100.0 + 60.0 * (1 - math.exp(-t / 150.0)))
    judgement = judge_memory(curve, warmup_s=WARMUP_S, load_end_s=LOAD_S)
    assert judgement.second_half_mib_per_hour > MemoryRule().limit_mib_per_hour
    assert judgement.verdict is Verdict.BOUNDED
    assert "levelling off" in judgement.reason


def test_growth_that_starts_late_is_caught() -> None:
    late = series(lambda t: 100.0 + max(0.0, t - 360.0) * 200.0 / 3600)
    assert judge(late) is Verdict.GROWING


def test_one_spike_at_the_end_does_not_make_a_leak() -> None:
    spiky = series(lambda t: 110.0, noise_mib=0.5)
    spiky[-1] = (spiky[-1][0], 160 * MIB)
    spiky[-2] = (spiky[-2][0], 150 * MIB)
    assert judge(spiky) is Verdict.BOUNDED


def test_growth_during_the_warm_up_is_not_judged_but_reported() -> None:
    warming = series(lambda t: 80.0 + 30.0 * min(t, 60.0) / 60.0)
    judgement = judge_memory(warming, warmup_s=WARMUP_S, load_end_s=LOAD_S)
    assert judgement.verdict is Verdict.BOUNDED
    assert judgement.start_bytes == 80 * MIB
    assert judgement.warm_bytes == 110 * MIB
    assert judgement.end_bytes == 110 * MIB
    assert judgement.growth_bytes == 0


def test_samples_after_the_load_are_left_out() -> None:
    flat = series(lambda t: 100.0)
    drain = [(LOAD_S + n, (100 + 50 * n) * MIB) for n in range(1, 10)]
    judgement = judge_memory(flat + drain, warmup_s=WARMUP_S, load_end_s=LOAD_S)
    assert judgement.verdict is Verdict.BOUNDED
    assert judgement.end_bytes == 100 * MIB


def test_a_run_too_short_for_two_halves_is_not_judged() -> None:
    short = [(float(t), 100 * MIB + t * MIB) for t in range(0, 20, 5)]
    judgement = judge_memory(short, warmup_s=4, load_end_s=20)
    assert judgement.verdict is Verdict.NOT_JUDGED
    assert judgement.end_bytes == 115 * MIB
    assert judge_memory([], warmup_s=0, load_end_s=10).verdict is Verdict.NOT_JUDGED


def test_drained_at_the_first_of_two_quiet_polls() -> None:
    polls = [(600.0, 800, 12), (602.0, 40, 0), (604.0, 0, 0), (606.0, 0, 0)]
    judgement = judge_drain(polls, load_end_s=600.0)
    assert judgement.drained
    assert judgement.drain_s == pytest.approx(4.0)


def test_one_quiet_poll_between_busy_ones_is_not_drained() -> None:
    polls = [(600.0, 0, 0), (602.0, 30, 0), (604.0, 0, 5), (606.0, 0, 0)]
    judgement = judge_drain(polls, load_end_s=600.0)
    assert not judgement.drained
    assert judgement.drain_s is None
    assert "lag 0 and outbox backlog 0" in judgement.reason


def test_lag_that_never_reaches_zero_is_not_drained() -> None:
    polls = [(600.0 + 2 * n, 500 - n, 0) for n in range(100)]
    judgement = judge_drain(polls, load_end_s=600.0)
    assert not judgement.drained
    assert "lag 401" in judgement.reason


def test_a_negative_lag_is_a_miscount_not_zero() -> None:
    assert not judge_drain([(600.0, -3, 0), (602.0, -3, 0)], load_end_s=600.0).drained


def test_no_polls_is_not_drained() -> None:
    assert not judge_drain([], load_end_s=600.0).drained


def test_memory_rising_while_the_service_falls_behind_is_inconclusive() -> None:
    # the machine starves the service: lag climbs 20 records/s, batches and memory grow
    rising = series(lambda t: 100.0 + 120.0 * t / 3600)
    lag = [(t, int(20 * t)) for t, _ in rising]
    judgement = judge_memory(rising, warmup_s=WARMUP_S, load_end_s=LOAD_S, lag=lag)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.lag_per_s == pytest.approx(20)
    assert "fell behind" in judgement.reason


def test_a_leak_with_a_lag_that_comes_and_goes_is_still_a_leak() -> None:
    leak = series(lambda t: 100.0 + 120.0 * t / 3600)
    lag = [(t, 800 if n % 3 == 0 else 0) for n, (t, _) in enumerate(leak)]
    judgement = judge_memory(leak, warmup_s=WARMUP_S, load_end_s=LOAD_S, lag=lag)
    assert judgement.verdict is Verdict.GROWING


def test_bounded_memory_stays_bounded_however_far_behind() -> None:
    flat = series(lambda t: 100.0, noise_mib=1.0)
    lag = [(t, int(50 * t)) for t, _ in flat]
    assert (
        judge_memory(flat, warmup_s=WARMUP_S, load_end_s=LOAD_S, lag=lag).verdict is Verdict.BOUNDED
    )


def test_one_small_step_in_a_short_run_is_noise_not_a_leak() -> None:
    # half a minute: a 0.4 MiB step 6 s before the end is a steep slope, but only 0.4 MiB
    step = [(float(t), int((97.0 if t < 24 else 97.4) * MIB)) for t in range(31)]
    judgement = judge_memory(step, warmup_s=6, load_end_s=30)
    assert judgement.second_half_mib_per_hour > MemoryRule().limit_mib_per_hour
    assert judgement.verdict is Verdict.BOUNDED
    assert "noise floor" in judgement.reason


def test_a_big_leak_shows_even_in_a_short_run() -> None:
    leak = [(float(t), int((100.0 + t * 0.5) * MIB)) for t in range(31)]  # 1.8 GiB/h
    assert judge_memory(leak, warmup_s=6, load_end_s=30).verdict is Verdict.GROWING
