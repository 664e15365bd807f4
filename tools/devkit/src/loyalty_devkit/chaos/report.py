"""What a chaos run found (mismatches, findings not counted, timings), and its progress log."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Report:
    seed: int
    events: int = 0
    kills: int = 0
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # contract questions, not counted
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"seed={self.seed} events={self.events} kills={self.kills} "
            f"mismatches={len(self.mismatches)}"
        )


def log(message: str) -> None:
    print(f"[chaos {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)
