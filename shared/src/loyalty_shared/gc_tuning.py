"""The garbage collector as a service process runs it: what the process holds after start-up
frozen out of every collection, and the young generation collected every 50,000 allocations
rather than every 700 (docs/speed.md#the-hot-path-issue-22)."""

from __future__ import annotations

import gc

#: Allocations between two collections of the youngest generation, and collections of each
#: generation between two of the next. CPython's defaults are (700, 10, 10).
THRESHOLDS = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    """Call once the service is built, before it serves: what exists by then (modules, the app,
    its routes and models) lives as long as the process, so no collection need look at it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
