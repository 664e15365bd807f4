"""`loyalty chaos` in its small mode ends with mismatches=0 (about two minutes on a quiet machine).

Not part of `make test`: eight service processes, PostgreSQL restarts and broker pauses on two
cores depend on what else the machine is doing, and a suite must not. `make chaos-smoke` runs it;
`make chaos` is the full run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

LOYALTY = str(Path(sys.executable).with_name("loyalty"))
SMALL = ["--events", "2000", "--members", "200", "--kills", "5", "--duration", "45"]


@pytest.mark.chaos
@pytest.mark.timeout(400)
def test_small_chaos_run_matches_the_oracle() -> None:
    result = subprocess.run(
        [LOYALTY, "chaos", "--seed", "4242", *SMALL],
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert re.fullmatch(r"seed=4242 events=\d+ kills=5 mismatches=0", line), (
        result.stdout[-4000:] + result.stderr[-4000:]
    )
    assert result.returncode == 0
