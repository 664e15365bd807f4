"""The console's settings: where the four services answer, how operators sign in, the session
cookie. Shared ones (`LOYALTY_JWT_*` to check tokens, logging, host) come from ServiceSettings."""

from __future__ import annotations

import hashlib
import hmac
from zoneinfo import available_timezones

from pydantic import Field, SecretStr, field_validator, model_validator

from loyalty_shared.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    console_port: int = Field(8080, ge=1, le=65535)
    #: The services' base URLs as the console reaches them (inside the cluster in production).
    console_points_url: str = "http://127.0.0.1:8001"
    console_tiers_url: str = "http://127.0.0.1:8002"
    console_notifications_url: str = "http://127.0.0.1:8003"
    console_feedback_url: str = "http://127.0.0.1:8004"
    console_api_timeout_s: float = Field(10.0, gt=0, le=120)
    #: Reports on the whole program (members, points per week, NPS, loyalty) are fetched from
    #: the services at most this often; a page shows the last one meanwhile.
    console_report_ttl_s: float = Field(60.0, ge=0, le=3600)

    #: OpenID Connect: the issuer (its `/.well-known/openid-configuration` is read), the client
    #: registered for the console, and the scopes asked for (the operator roles of contract 5.1
    #: are granted by the identity provider, per person, in the access token's `scope`).
    console_oidc_issuer: str | None = None
    console_oidc_client_id: str | None = None
    console_oidc_client_secret: SecretStr | None = None
    console_oidc_scopes: str = (
        "openid profile loyalty:support loyalty:marketing loyalty:finance loyalty:admin"
    )
    #: Where the console is reached by browsers (`https://console.example`): the OIDC redirect
    #: URI is built from it; unset, from the request (fine locally, not behind a proxy).
    console_public_url: str | None = None

    #: Local development only (`make run` sets it): sign in by picking a role; the console mints
    #: a short-lived token with LOYALTY_JWT_SECRET. Never set where real people sign in.
    console_dev_sign_in: bool = False
    console_dev_token_ttl_s: int = Field(3600, ge=60, le=12 * 3600)

    #: Encrypts the session cookie (≥ 32 characters). Unset, a key derived from
    #: LOYALTY_JWT_SECRET for this purpose only is used (local development).
    console_session_secret: SecretStr | None = None
    #: The cookie is `Secure` (sent over HTTPS only) unless this is false (`make run`, plain HTTP).
    console_secure_cookie: bool = True
    #: A session ends this long after the operator's last request (and never outlives the token).
    console_session_idle_s: int = Field(8 * 3600, ge=300, le=7 * 86_400)

    #: Times are shown in the operator's zone; this one until they choose another.
    console_default_time_zone: str = "Asia/Shanghai"

    @property
    def port(self) -> int:
        return self.console_port

    @property
    def service_urls(self) -> dict[str, str]:
        return {
            "points": self.console_points_url.rstrip("/"),
            "tiers": self.console_tiers_url.rstrip("/"),
            "notifications": self.console_notifications_url.rstrip("/"),
            "feedback": self.console_feedback_url.rstrip("/"),
        }

    @property
    def oidc_enabled(self) -> bool:
        return self.console_oidc_issuer is not None

    @field_validator("console_default_time_zone")
    @classmethod
    def _a_time_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"{value!r} is not an IANA time zone")
        return value

    @model_validator(mode="after")
    def _a_way_to_sign_in(self) -> ConsoleSettings:
        if not self.oidc_enabled and not self.console_dev_sign_in:
            raise ValueError(
                "set LOYALTY_CONSOLE_OIDC_ISSUER (and _CLIENT_ID, _CLIENT_SECRET), or "
                "LOYALTY_CONSOLE_DEV_SIGN_IN=true on a developer's machine: nobody could sign in"
            )
        if self.oidc_enabled and not self.console_oidc_client_id:
            raise ValueError("LOYALTY_CONSOLE_OIDC_CLIENT_ID is required with an OIDC issuer")
        if self.console_dev_sign_in and self.jwt_secret is None:
            raise ValueError("the development sign-in mints tokens with LOYALTY_JWT_SECRET: set it")
        secret = self.console_session_secret
        if secret is not None and len(secret.get_secret_value()) < 32:
            raise ValueError("LOYALTY_CONSOLE_SESSION_SECRET must be at least 32 characters")
        if secret is None and self.jwt_secret is None:
            raise ValueError("set LOYALTY_CONSOLE_SESSION_SECRET: it encrypts the session cookie")
        return self

    def session_key(self) -> bytes:
        """32 bytes that encrypt the session cookie: never the API's own key."""
        if self.console_session_secret is not None:
            base = self.console_session_secret.get_secret_value().encode()
        else:
            assert self.jwt_secret is not None
            base = self.jwt_secret.get_secret_value().encode()
        return hmac.new(base, b"loyalty-console:session-cookie:v1", hashlib.sha256).digest()
