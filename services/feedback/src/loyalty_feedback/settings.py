"""The feedback service's settings: shared ones plus its database, port, program, survey-token
secret, job schedules, how long a refund waits for its purchase and the survey page's origin."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from loyalty_shared.program.loader import default_program_path
from loyalty_shared.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    feedback_database_url: str = Field(min_length=1)
    feedback_port: int = Field(8004, ge=1, le=65535)
    program_file: Path = Field(default_factory=default_program_path)
    #: HS256 secret that signs survey tokens (links in survey emails). When unset, a key derived
    #: from LOYALTY_JWT_SECRET for this one purpose is used; required with JWKS (RS256) auth.
    feedback_survey_secret: SecretStr | None = None
    #: How often due survey invitations go out.
    feedback_jobs_interval_s: float = Field(60.0, gt=0, le=86_400)
    #: How often RFM segments are recomputed (and `member.segment_changed` emitted).
    feedback_insight_interval_s: float = Field(3600.0, gt=0, le=7 * 86_400)
    #: How long a refund that arrived before its purchase waits for it; then it is dead-lettered
    #: as `unknown-order` (the same wait as the points service's by default).
    feedback_parked_refund_max_age_days: float = Field(7.0, gt=0, le=365)
    #: Origins whose pages may call the API from a browser (CORS): the survey page's, where a
    #: survey link opens (`https://shop.example.com`), as a JSON list. None by default.
    feedback_cors_origins: list[str] = Field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.feedback_database_url

    @property
    def parked_refund_max_age(self) -> timedelta:
        return timedelta(days=self.feedback_parked_refund_max_age_days)

    @property
    def port(self) -> int:
        return self.feedback_port

    @field_validator("feedback_cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("https", "http")
                or not parts.hostname
                or parts.path
                or parts.query
                or parts.fragment
                or parts.username
            ):
                raise ValueError(
                    f"LOYALTY_FEEDBACK_CORS_ORIGINS: {origin!r} is not an origin "
                    "(scheme://host[:port], no path, no wildcard)"
                )
        return origins

    @model_validator(mode="after")
    def _a_survey_key(self) -> FeedbackSettings:
        secret = self.feedback_survey_secret
        if secret is not None and len(secret.get_secret_value()) < 32:
            raise ValueError("LOYALTY_FEEDBACK_SURVEY_SECRET must be at least 32 characters")
        if secret is None and self.jwt_secret is None:
            raise ValueError(
                "set LOYALTY_FEEDBACK_SURVEY_SECRET: survey links are signed with it "
                "(there is no LOYALTY_JWT_SECRET to derive one from)"
            )
        return self

    def survey_key(self) -> bytes:
        """The key that signs survey tokens: never the API's own key, so a survey token is never
        a bearer token and a bearer token never answers a survey."""
        if self.feedback_survey_secret is not None:
            return self.feedback_survey_secret.get_secret_value().encode()
        assert self.jwt_secret is not None
        base = self.jwt_secret.get_secret_value().encode()
        return hmac.new(base, b"loyalty-feedback:survey-token:v1", hashlib.sha256).digest()
