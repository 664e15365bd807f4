"""The feedback service's settings: shared ones plus its database and port."""

from __future__ import annotations

from pydantic import Field

from loyalty_shared.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    feedback_database_url: str = Field(min_length=1)
    feedback_port: int = Field(8004, ge=1, le=65535)

    @property
    def database_url(self) -> str:
        return self.feedback_database_url

    @property
    def port(self) -> int:
        return self.feedback_port
