"""The notifications service's settings: shared ones plus its database, port, channels and rules.

Every one is an environment variable with the `LOYALTY_` prefix (`LOYALTY_NOTIFICATIONS_SMTP_HOST`).
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from loyalty_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    notifications_database_url: str = Field(min_length=1)
    notifications_port: int = Field(8003, ge=1, le=65535)

    # Members
    #: The time zone of a member who has not chosen one (IANA name).
    notifications_default_time_zone: str = "Asia/Shanghai"
    #: Local hour at which scheduled messages (birthday, expiry reminder) go out.
    notifications_local_send_hour: int = Field(10, ge=0, le=23)
    #: Local hour of the daily points digest.
    notifications_digest_hour: int = Field(20, ge=0, le=23)
    #: Days before expiry at which the expiring-points reminder is sent.
    notifications_expiry_notice_days: int = Field(30, ge=1, le=365)
    #: Days without a purchase after which a member gets a win-back message (once per absence).
    notifications_win_back_days: int = Field(90, ge=1, le=3650)
    #: How long a message waits for a member.enrolled before it is suppressed (`not-enrolled`).
    notifications_enrolment_wait_days: float = Field(7.0, gt=0, le=365)
    #: Base of the survey link in a feedback invitation; `?token=<survey_token>` is appended.
    notifications_survey_base_url: str = "https://shop.example.com/survey"
    #: A folder of templates replacing the shipped ones (`<language>/<trigger>.j2` for every
    #: trigger in zh-CN and en); every one is rendered at start, and a missing template or
    #: variable stops the service there.
    notifications_templates_dir: Path | None = None

    # Retention (privacy/jobs.py)
    #: Days a finished message keeps its contents (the variables it was rendered from).
    notifications_message_retention_days: float = Field(180.0, gt=0, le=3650)
    notifications_retention_interval_s: float = Field(3600.0, gt=0, le=86_400)

    # Delivery
    notifications_dispatch_interval_s: float = Field(1.0, gt=0, le=60)
    #: Rows claimed per round, all sent at once: every attempt of a round starts right after
    #: its claim, so the lease below covers it.
    notifications_dispatch_concurrency: int = Field(16, ge=1, le=256)
    notifications_schedule_interval_s: float = Field(300.0, gt=0, le=86_400)
    notifications_send_timeout_s: float = Field(10.0, gt=0, le=300)
    #: Upper bound of one send, whatever the channel (connect, every command, the reply).
    #: An attempt not finished after the lease is "in doubt" (the process died): it is sent
    #: again once, never more. The lease must exceed the send timeout.
    notifications_send_lease_s: float = Field(60.0, gt=0, le=3600)
    notifications_max_attempts: int = Field(8, ge=1, le=100)
    notifications_retry_base_s: float = Field(30.0, gt=0, le=3600)
    notifications_retry_max_s: float = Field(3600.0, gt=0, le=86_400)

    # Email over SMTP
    notifications_smtp_host: str = "127.0.0.1"
    notifications_smtp_port: int = Field(25, ge=1, le=65535)
    notifications_smtp_tls: Literal["none", "starttls", "tls"] = "none"
    notifications_smtp_username: str | None = None
    notifications_smtp_password: SecretStr | None = None
    notifications_smtp_validate_certs: bool = True
    notifications_mail_from: str = "Loyalty <loyalty@example.com>"

    # Customer-service webhook (detractor alerts), signed with HMAC-SHA256
    notifications_cs_webhook_url: str | None = None
    notifications_webhook_secret: SecretStr | None = None

    # HTTP push/SMS provider (one JSON API for both); without a URL those channels are off
    notifications_provider_url: str | None = None
    notifications_provider_api_key: SecretStr | None = None

    @property
    def database_url(self) -> str:
        return self.notifications_database_url

    @property
    def port(self) -> int:
        return self.notifications_port

    @property
    def local_send_time(self) -> time:
        return time(self.notifications_local_send_hour)

    @field_validator("notifications_default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @model_validator(mode="after")
    def _coherent(self) -> NotificationsSettings:
        if self.notifications_send_lease_s <= self.notifications_send_timeout_s:
            raise ValueError(
                "LOYALTY_NOTIFICATIONS_SEND_LEASE_S must exceed the send timeout: a send "
                "still under way must never look abandoned"
            )
        if self.notifications_cs_webhook_url and self.notifications_webhook_secret is None:
            raise ValueError(
                "LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET is required with a customer-service "
                "webhook URL: the CS system checks every body's signature"
            )
        return self
