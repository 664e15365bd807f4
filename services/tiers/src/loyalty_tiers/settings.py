"""The tiers service's settings: shared ones plus its database and port."""

from __future__ import annotations

from pydantic import Field

from loyalty_shared.settings import ServiceSettings


class TiersSettings(ServiceSettings):
    tiers_database_url: str = Field(min_length=1)
    tiers_port: int = Field(8002, ge=1, le=65535)

    @property
    def database_url(self) -> str:
        return self.tiers_database_url

    @property
    def port(self) -> int:
        return self.tiers_port
