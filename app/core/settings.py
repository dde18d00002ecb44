"""Runtime settings, read once from the environment (prefix SEAM_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Published in this repository: anyone can decrypt what it encrypted and forge what it signed.
DEVELOPMENT_SECRET = "dev-insecure-change-me"
METRICS_TOKEN_MIN = 16


class UnsafeSettings(ValueError):
    """Settings a process refuses to start with; the message names the variable to set."""


class Settings(BaseSettings):
    # A refused value is never echoed: it may be a secret, and startup errors reach the logs.
    model_config = SettingsConfigDict(
        env_prefix="SEAM_", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default=f"sqlite:///{Path.cwd() / 'seam.db'}",
        description="SQLAlchemy URL; SQLite file in the working directory by default.",
    )
    database_replica_url: str | None = Field(
        default=None,
        description="PostgreSQL streaming replica for reads that tolerate lag (lists, board, insights).",
    )
    replica_sticky_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="After a write, that client reads from the primary for this long (a cookie).",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        description="Derives the key that encrypts stored credentials and webhook secrets.",
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, description="Larger request bodies get 413.")
    batch_max_items: int = Field(default=1000, description="Most items accepted by one batch request.")
    # Routing and grouping (the encoder above all) cost far more than storing; deferred, an API request
    # stores its items and the worker places them in batches a moment later.
    placement: Literal["inline", "deferred"] = Field(
        default="inline",
        description="Place API items in the request (`inline`: the answer names the issue), or store them "
        "`pending` and place them in the worker (`deferred`: faster requests, a short placement lag).",
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL used in links we send.")
    log_level: str = Field(default="INFO", description="Level of every Seam logger, in every process.")
    # JSON by default: production runs in containers whose lines go to a log store, which needs fields,
    # not prose; `text` is for a person reading a terminal.
    log_format: Literal["json", "text"] = Field(default="json", description="One JSON object a line, or text")
    db_pool_size: int = Field(
        default=10,
        ge=1,
        description="Each process opens up to twice this many database connections as load needs them, "
        "and keeps them; also bounds the requests served at once.",
    )
    busy_wait_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="How long a request waits for a free slot before it gets 503 with Retry-After.",
    )
    rate_auth_failures_per_minute: int = Field(
        default=30,
        ge=1,
        description="Failed API-key checks per client address (and per key prefix) per minute, per process; "
        "then 429 with Retry-After.",
    )
    rate_webhooks_per_minute: int = Field(
        default=1200,
        ge=1,
        description="Deliveries per webhook URL and client address per minute, per process; then 429.",
    )
    rate_sign_in_per_hour: int = Field(
        default=5,
        ge=1,
        description="Sign-in links per email address per hour, across replicas (six times as many per "
        "client address); then 429.",
    )
    inprocess_worker: bool | None = Field(
        default=None,
        description="Run the outbox worker in the API process; default: on with SQLite, off with PostgreSQL.",
    )
    # Unset by default, and then GET /metrics answers 404: the figures are never open by accident.
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a Prometheus scraper sends to GET /metrics; unset, /metrics is 404.",
    )
    worker_batch: int = Field(
        default=16, ge=1, le=1000, description="Outbox messages a worker claims in one transaction."
    )
    worker_concurrency: int = Field(
        default=8, ge=1, le=256, description="Outbox messages one worker delivers at the same time."
    )
    vendor_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Of those, at most this many to one vendor at once (one integration, one SMTP host).",
    )
    allow_private_network: bool = Field(
        default=False, description="Let integrations call private or loopback addresses (tests, on-premises)."
    )
    # Email (close the loop): the outbox worker sends reminders, digests and customer notices over SMTP.
    customer_link_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a customer's one-click 'did this fix it?' link works after the notice is sent.",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days items keep their text, metadata and contact details when their source sets no "
        "retention of its own; unset: kept.",
    )
    outbox_keep_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a delivered or cancelled outbound message keeps its payload (addresses, words); "
        "the row and its dedupe key stay.",
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP relay host.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: Literal["off", "on", "required"] = Field(default="required")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = Field(default="seam@example.com", description="From address of every email Seam sends.")
    # Scheduler: zone of daily/weekly jobs, and when the weekly digests go out.
    scheduler_timezone: str = Field(default="UTC")
    digest_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    digest_hour: int = Field(default=8, ge=0, le=23)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _long_enough(cls, token: object) -> object:
        value = token.get_secret_value() if isinstance(token, SecretStr) else token
        if value is None or value == "":  # an empty variable means unset
            return None
        # A guessable token would open the figures (route names, queue sizes) to anyone who tries.
        if isinstance(value, str) and len(value.strip()) < METRICS_TOKEN_MIN:
            raise ValueError(f"must be at least {METRICS_TOKEN_MIN} characters")
        return token

    @property
    def runs_inprocess_worker(self) -> bool:
        return self.is_sqlite if self.inprocess_worker is None else self.inprocess_worker

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def refuse_unsafe(self) -> None:
        """The development secret is for the laptop demo on SQLite only; anywhere else it would let anyone
        read stored credentials and forge customers' one-click answers. A replica needs a PostgreSQL
        primary to stream from."""
        if self.database_replica_url and (self.is_sqlite or self.database_replica_url.startswith("sqlite")):
            raise UnsafeSettings(
                "SEAM_DATABASE_REPLICA_URL is a PostgreSQL streaming replica of SEAM_DATABASE_URL, "
                "which must then be PostgreSQL too. Unset SEAM_DATABASE_REPLICA_URL, or point both at "
                "PostgreSQL."
            )
        newest = self.secret_key.get_secret_value().split(",")[0].strip()
        if not self.is_sqlite and newest in (DEVELOPMENT_SECRET, ""):
            raise UnsafeSettings(
                "SEAM_SECRET_KEY is the published development value, which is refused outside SQLite. "
                "Set SEAM_SECRET_KEY to a long random secret, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
