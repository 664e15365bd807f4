"""The points service's settings: shared ones plus its database, port and program file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from loyalty_shared.program.loader import default_program_path
from loyalty_shared.settings import ServiceSettings


class PointsSettings(ServiceSettings):
    points_database_url: str = Field(min_length=1)
    points_port: int = Field(8001, ge=1, le=65535)
    program_file: Path = Field(default_factory=default_program_path)
    #: How often pending points mature, due points expire and expiry warnings go out.
    points_jobs_interval_s: float = Field(30.0, gt=0, le=3600)
    #: How long a refund waits for its purchase before it is dead-lettered as `unknown-order`.
    points_parked_refund_max_age_days: float = Field(7.0, gt=0, le=365)
    #: How often the outstanding points and liability gauges are computed again.
    points_finance_interval_s: float = Field(300.0, gt=0, le=86400)
    #: A backtest that has not finished by then stops (503) and changes nothing.
    points_backtest_timeout_s: float = Field(120.0, gt=0, le=3600)

    @property
    def database_url(self) -> str:
        return self.points_database_url

    @property
    def port(self) -> int:
        return self.points_port
