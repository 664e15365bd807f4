"""The tiers service's settings: shared ones plus its database and port."""

from __future__ import annotations

from pydantic import Field

from loyalty_shared.settings import ServiceSettings


class TiersSettings(ServiceSettings):
    database_url: str = Field(min_length=1, validation_alias="LOYALTY_TIERS_DATABASE_URL")
    port: int = Field(8002, ge=1, le=65535, validation_alias="LOYALTY_TIERS_PORT")
