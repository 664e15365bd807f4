"""The notifications service's settings: shared ones plus its database and port."""

from __future__ import annotations

from pydantic import Field

from loyalty_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    database_url: str = Field(min_length=1, validation_alias="LOYALTY_NOTIFICATIONS_DATABASE_URL")
    port: int = Field(8003, ge=1, le=65535, validation_alias="LOYALTY_NOTIFICATIONS_PORT")
