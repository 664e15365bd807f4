"""Settings every service shares (pydantic-settings, `LOYALTY_` prefix).

Each service subclasses `ServiceSettings` for its own database URL, port and options, and the
instance is passed into the app factory: nothing reads the environment at import time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The HS256 secret `make run` and `loyalty token` sign with (loyalty_devkit.dev_tokens). It is
#: in this repository, so anyone can mint admin tokens with it: refused outside development.
DEVELOPMENT_JWT_SECRET = "local-development-only-secret-0123456789abcdef"  # noqa: S105


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore", frozen=True)

    #: `development` only on a developer's machine (`make run`, tests): it admits what a
    #: deployment must refuse (the published development secret, plain-HTTP webhooks to
    #: loopback). Anything else is `production`, a development cluster included.
    environment: Literal["development", "production"] = "production"

    # Kafka (tansu locally, Strimzi in production)
    kafka_bootstrap: str = Field("127.0.0.1:9092", min_length=1)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    # Kafka's idempotent producer is worth having on a real cluster; tansu refuses it.
    kafka_idempotent_producer: bool = False
    kafka_fetch_max_wait_ms: int = Field(20, ge=1, le=5000)
    kafka_max_batch: int = Field(2000, ge=1, le=10_000)
    kafka_session_timeout_ms: int = Field(10_000, ge=1000)
    kafka_commit_interval_ms: int = Field(1000, ge=0, le=60_000)
    kafka_batch_linger_ms: int = Field(20, ge=0, le=1000)

    # PostgreSQL: behind pgbouncer in transaction mode asyncpg must not cache statements (0).
    db_pool_min: int = Field(1, ge=0)
    db_pool_max: int = Field(10, ge=1)
    db_statement_cache_size: int = Field(100, ge=0)
    db_command_timeout_s: float = Field(30.0, gt=0)
    #: Apply the migrations when the service starts (`make run`, tests). In Kubernetes the pods
    #: reach PostgreSQL through pgbouncer, where dbmate's session lock is unsafe: the migration
    #: Job runs `loyalty-<service> migrate` against the primary and the pods set this to false.
    migrate_at_start: bool = True
    #: The role the service's pods connect as, apart from the schema's owner: after migrating
    #: (as the owner), `migrate` grants it reading and writing every table, and the same on the
    #: tables later migrations add (default privileges), never ALTER or DROP. Unset (`make run`,
    #: tests): one role does both and nothing is granted.
    db_app_role: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    #: Without migrating, a service starts consuming and serving only once its database holds
    #: every migration it ships; until then it checks this often and /readyz says what it waits for.
    schema_check_interval_s: float = Field(3.0, gt=0)

    # Auth: HS256 with a shared secret, or RS256, PS256 and ES256 with keys from a JWKS endpoint
    # (which then requires the audience and the issuer: every token must name both).
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_s: int = Field(30, ge=0, le=300)

    #: Larger request bodies are refused with 413 before any handler runs (`http/limits.py`).
    http_max_body_bytes: int = Field(64 * 1024, ge=1024)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    #: A line per request (method, the path with its identifiers masked, status; not the
    #: probes). Off by default: the traces and the HTTP metrics already say as much.
    log_access: bool = False
    host: str = "127.0.0.1"

    relay_batch: int = Field(500, ge=1, le=10_000)
    relay_idle_sleep_s: float = Field(0.05, gt=0, le=5)

    #: Inbox claims older than this are forgotten (db/inbox_retention.py): keep it well above the
    #: retention of every topic the service reads, dead-letter topics included.
    inbox_retention_days: int = Field(90, ge=1)
    inbox_retention_interval_s: float = Field(3600, gt=0)
    #: The dead letters a service keeps for the console are forgotten after this (as long as the
    #: dead-letter topics keep their copies), by the same hourly job.
    dead_letter_retention_days: int = Field(30, ge=1)

    # Each service names its database and port after itself (LOYALTY_POINTS_DATABASE_URL,
    # LOYALTY_POINTS_PORT): one service never picks up another's database by accident.
    @property
    def database_url(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no database of its own")

    @property
    def port(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} serves no port")

    @model_validator(mode="after")
    def _one_way_to_check_tokens(self) -> ServiceSettings:
        if self.jwt_secret is None and self.jwt_jwks_url is None:
            raise ValueError(
                "set LOYALTY_JWT_SECRET (HS256) or LOYALTY_JWT_JWKS_URL (RS256, PS256, ES256): "
                "the APIs refuse to run without a way to check tokens"
            )
        if self.jwt_secret is not None:
            secret = self.jwt_secret.get_secret_value()
            if len(secret) < 32:
                raise ValueError("LOYALTY_JWT_SECRET must be at least 32 characters")
            if secret == DEVELOPMENT_JWT_SECRET and self.environment != "development":
                raise ValueError(
                    "LOYALTY_JWT_SECRET is the development secret published in this repository "
                    "(anyone can mint admin tokens with it): set a secret of your own, or "
                    "LOYALTY_ENVIRONMENT=development on a developer's machine"
                )
        if self.jwt_jwks_url is not None and (not self.jwt_audience or not self.jwt_issuer):
            raise ValueError(
                "LOYALTY_JWT_AUDIENCE and LOYALTY_JWT_ISSUER are required with "
                "LOYALTY_JWT_JWKS_URL: a token the identity provider issued for another "
                "application or another tenant must not open these APIs"
            )
        return self
