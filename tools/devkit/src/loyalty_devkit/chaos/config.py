"""What one chaos run is asked to do (the command's options), and what all its parts share."""

from __future__ import annotations

from dataclasses import dataclass

PARTITIONS = 4
SECRET = "chaos-run-secret-" + "0123456789abcdef" * 2


@dataclass(frozen=True)
class Config:
    seed: int
    events: int
    members: int
    kills: int
    duration_s: float
    postgres_restart: bool = True
    broker_pause: bool = True
    quiet_timeout_s: float = 420
    keep: bool = False
    refund_probes: bool = True
