"""`loyalty chaos` in its small mode ends with mismatches=0 (about two minutes: `-m "not slow"`
leaves it out)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

LOYALTY = str(Path(sys.executable).with_name("loyalty"))
SMALL = ["--events", "2000", "--members", "200", "--kills", "5", "--duration", "45"]


@pytest.mark.slow
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
