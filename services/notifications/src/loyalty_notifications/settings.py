"""The notifications service's settings: shared ones plus its database, port, channels and rules.

Every one is an environment variable with the `LOYALTY_` prefix (`LOYALTY_NOTIFICATIONS_SMTP_HOST`).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from loyalty_shared.settings import ServiceSettings

#: Standard Webhooks secrets: `whsec_` and the base64 of the key, at least 32 bytes of it.
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105
WEBHOOK_SECRET_MIN_BYTES = 32


def is_loopback(host: str | None) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1): this machine, never the network."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (`whsec_<base64>`); ValueError if it is not one
    or holds fewer than 32 bytes."""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"must start with {WEBHOOK_SECRET_PREFIX!r} (Standard Webhooks format)")
    encoded = secret.removeprefix(WEBHOOK_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError(f"must be {WEBHOOK_SECRET_PREFIX!r} followed by base64") from None
    if len(key) < WEBHOOK_SECRET_MIN_BYTES:
        raise ValueError(f"must hold at least {WEBHOOK_SECRET_MIN_BYTES} bytes once decoded")
    return key


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

    # Email over SMTP: STARTTLS unless told otherwise; `none` (plain text) only to a loopback
    # host, `tls` for implicit TLS (port 465).
    notifications_smtp_host: str = "127.0.0.1"
    notifications_smtp_port: int = Field(25, ge=1, le=65535)
    notifications_smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    notifications_smtp_username: str | None = None
    notifications_smtp_password: SecretStr | None = None
    notifications_smtp_validate_certs: bool = True
    #: CA certificates (PEM) the mail server's certificate is checked against, instead of the
    #: system's: a private CA, or `make run`'s self-signed local server.
    notifications_smtp_ca_file: Path | None = None
    #: An SMTP session (its connection, STARTTLS and login) serves the next mail while it is
    #: younger than this idle time and has sent fewer mails than this (providers cap both).
    notifications_smtp_session_idle_s: float = Field(30.0, ge=0, le=3600)
    notifications_smtp_session_max_mails: int = Field(100, ge=1, le=10_000)
    notifications_mail_from: str = "Loyalty <loyalty@example.com>"

    # Customer-service webhook (detractor alerts), signed the Standard Webhooks way
    # (channels/webhook.py). https only; http only to loopback in development.
    notifications_cs_webhook_url: str | None = None
    #: `whsec_` + base64 of at least 32 random bytes, as Standard Webhooks verifiers take it.
    notifications_webhook_secret: SecretStr | None = None

    # HTTP push/SMS provider (one JSON API for both); without a URL those channels are off.
    # https only, like the webhook (the API key and phone numbers travel in it).
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
        if self.notifications_webhook_secret is not None:
            try:
                webhook_key(self.notifications_webhook_secret.get_secret_value())
            except ValueError as exc:
                raise ValueError(
                    f"LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET {exc}; make one with: python -c "
                    '\'import base64,secrets;print("whsec_"+base64.b64encode('
                    "secrets.token_bytes(32)).decode())'"
                ) from None
        for name, url in (
            ("LOYALTY_NOTIFICATIONS_CS_WEBHOOK_URL", self.notifications_cs_webhook_url),
            ("LOYALTY_NOTIFICATIONS_PROVIDER_URL", self.notifications_provider_url),
        ):
            if url:
                self._check_outbound_url(name, url)
        if self.notifications_smtp_tls == "none" and not is_loopback(self.notifications_smtp_host):
            raise ValueError(
                "LOYALTY_NOTIFICATIONS_SMTP_TLS=none sends mail (and any SMTP password) in plain "
                "text: it is allowed only to a loopback host (127.0.0.1, ::1, localhost); use "
                "starttls (the default) or tls"
            )
        return self

    def _check_outbound_url(self, name: str, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and is_loopback(parts.hostname):
            if self.environment == "development":
                return
            raise ValueError(
                f"{name} may use http only to a loopback host with "
                "LOYALTY_ENVIRONMENT=development; use an https URL"
            )
        raise ValueError(f"{name} must be an https URL (with a host)")
