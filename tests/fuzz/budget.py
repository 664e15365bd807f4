"""How hard the fuzz tests try, read once from `LOYALTY_FUZZ_BUDGET`.

- `short` (the default, what `make test` runs): enough examples to catch a regression in a
  minute and a half on two cores, the whole directory included.
- `full` (`make fuzz`): the same tests at several times the examples, a few minutes.

Each kind of test asks for its own settings here (`for_http`, `for_events`, ...): a hypothesis
profile per budget is the parent, so deadlines and health checks are said once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from hypothesis import HealthCheck, settings

Budget = Literal["short", "full"]


def _budget() -> Budget:
    value = os.environ.get("LOYALTY_FUZZ_BUDGET", "short")
    match value:
        case "short" | "full":
            return value
    raise ValueError(f"LOYALTY_FUZZ_BUDGET must be 'short' or 'full', not {value!r}")


BUDGET: Budget = _budget()


@dataclass(frozen=True)
class Examples:
    #: schemathesis cases per service (each sent with one caller, valid or not)
    http: int
    #: hostile events per decode test (pure functions: cheap)
    events: int
    #: hostile HTTP bodies per service
    bodies: int
    #: batches of hostile records beside valid purchases through the real broker
    record_batches: int
    #: hostile records in each of those batches
    records: int
    #: seconds a single test may take (pytest-timeout)
    timeout_s: int


EXAMPLES = {
    "short": Examples(http=300, events=600, bodies=60, record_batches=2, records=12, timeout_s=300),
    "full": Examples(
        http=1500, events=10_000, bodies=400, record_batches=8, records=40, timeout_s=1800
    ),
}[BUDGET]

_SLOW_ON_PURPOSE = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]

settings.register_profile(
    "loyalty-fuzz",
    deadline=None,
    suppress_health_check=_SLOW_ON_PURPOSE,
    print_blob=True,
    # full: fresh randomness every run; short: the same examples on every machine, so make test
    # never fails by luck of the draw (shrinking a new finding is make fuzz's job)
    derandomize=BUDGET == "short",
    database=None if BUDGET == "short" else settings.get_profile("default").database,
)
PROFILE = settings.get_profile("loyalty-fuzz")


def fuzz_settings(max_examples: int) -> settings:
    return settings(PROFILE, max_examples=max_examples)
