"""The tiers service's settings: shared ones plus its database, port, program, schedule and how
long a refund waits for its purchase."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from loyalty_shared.program.loader import default_program_path
from loyalty_shared.settings import ServiceSettings


class TiersSettings(ServiceSettings):
    tiers_database_url: str = Field(min_length=1)
    tiers_port: int = Field(8002, ge=1, le=65535)
    program_file: Path = Field(default_factory=default_program_path)
    #: How often the downgrade evaluation looks for members whose tier validity has ended.
    tiers_evaluation_interval_s: float = Field(3600.0, gt=0, le=86_400)
    #: How long a refund that arrived before its purchase waits for it; then it is dead-lettered
    #: as `unknown-order` (the same wait as the points service's by default).
    tiers_parked_refund_max_age_days: float = Field(7.0, gt=0, le=365)

    @property
    def database_url(self) -> str:
        return self.tiers_database_url

    @property
    def parked_refund_max_age(self) -> timedelta:
        return timedelta(days=self.tiers_parked_refund_max_age_days)

    @property
    def port(self) -> int:
        return self.tiers_port
