"""The one settings object (environment prefix ``WHEELFLOW_``), read once and validated at start-up.

Secrets (provider tokens, JWT secret, webhook secret) come from the environment only.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wheelflow.errors import ConfigError
from wheelflow.passwords import PasswordPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path.cwd() / "data"


# The API's Content-Security-Policy (one place): same-origin scripts, styles, images and calls
# serve the dashboard's React app at / and the pinned docs assets under /schema. Scripts stay
# strictly same-origin; styles also allow inline <style>, which MUI (emotion) and Scalar inject
# at run time (without it the dashboard and the docs render unstyled; a style cannot run code).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
JWT_SECRET_MIN_BYTES = 32


class Settings(BaseSettings):
    """Process-wide settings. Every field can be set as ``WHEELFLOW_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="WHEELFLOW_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    strategy_file: Path | None = None
    provider: Literal["synthetic", "tradier", "alpaca", "cboe", "files"] = "synthetic"
    synthetic_seed: int = 42
    synthetic_universe_size: int = Field(default=30, ge=1, le=20000)
    # "auto": the provider's own style (american for US equity options, european for synthetic)
    exercise_style: Literal["auto", "american", "european"] = "auto"
    risk_free_rate: float = Field(default=0.04, ge=-0.05, le=0.5)
    chain_batch_size: int = Field(default=200, ge=1, le=5000)
    # A `running` pipeline run without a heartbeat for this long is marked crashed (its process
    # died); heartbeats come after every stage and chain batch, so keep it above a batch's time.
    run_stale_seconds: int = Field(default=900, ge=30)
    provider_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    # Two retry layers, one per kind of fault: the HTTP client retries each request's transient
    # faults (timeouts, connection errors, 5xx, 408, 429); a Prefect task retries a whole batch
    # only for what that layer cannot see (wheelflow.providers.http.retry_whole_batch).
    provider_retries: int = Field(default=3, ge=0, le=20)
    provider_retry_delay_seconds: float = Field(default=1.0, ge=0, le=300)
    task_retries: int = Field(default=1, ge=0, le=10)
    task_retry_delay_seconds: float = Field(default=10.0, ge=0, le=600)
    provider_requests_per_second: float = Field(default=5.0, gt=0, le=1000)
    live_trading: bool = False
    account_cash: float = Field(default=100_000.0, ge=0)
    seed_demo_positions: bool = True
    # write each pipeline run's risk report (markdown) and chart (PNG) under <data_dir>/reports
    risk_report_files: bool = True
    # API
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    jwt_secret: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")
    jwt_access_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    refresh_token_days: float = Field(default=14.0, gt=0, le=365)
    login_rate_per_minute: int = Field(default=10, ge=1, le=10_000)
    webhook_rate_per_minute: int = Field(default=60, ge=1, le=100_000)
    api_max_body_bytes: int = Field(default=1_000_000, ge=1024, le=100_000_000)
    # Security (issue 17)
    # Addresses/networks of reverse proxies whose X-Forwarded-For/-Proto are believed (uvicorn's
    # forwarded-allow-ips); empty: none, the client address is the TCP peer's.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Shared state of several API processes (limits, sessions, hot pages); empty: in-process.
    redis_url: str = ""
    redis_key_prefix: str = Field(default="wheelflow:", max_length=64)
    session_cache_seconds: float = Field(default=5.0, ge=0.1, le=300)
    login_account_failures: int = Field(default=10, ge=1, le=10_000)  # per account and window
    login_account_window_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    password_min_length: int = Field(default=12, ge=12, le=1024)
    password_min_score: int = Field(default=3, ge=0, le=4)  # zxcvbn score 0 (weakest) .. 4
    json_max_depth: int = Field(default=32, ge=2, le=1000)  # nesting of request bodies
    webhook_max_body_bytes: int = Field(default=16_384, ge=256, le=1_000_000)
    webhook_dedup_hours: float = Field(default=24.0, ge=0, le=24 * 365)  # 0: no de-duplication
    hsts_seconds: int = Field(default=31_536_000, ge=0, le=63_072_000)  # sent over TLS only
    content_security_policy: str = CONTENT_SECURITY_POLICY
    api_cache_seconds: int = Field(default=2, ge=0, le=3600)  # GET /rankings response cache; 0 off
    cors_origins: list[str] = Field(default_factory=list)  # empty: CORS off
    # Dashboard: live events go through Redis pub/sub when redis_url is set, else in memory
    live_poll_seconds: float = Field(default=0.5, ge=0, le=60)  # run/alert watcher; 0 off
    web_dist_dir: Path | None = None  # the built web app; default web/dist of the checkout
    prefect_deployment: str = ""  # "flow-name/deployment-name" the TradingView webhook triggers
    # Provider credentials (never logged)
    tradier_token: SecretStr = SecretStr("")
    tradier_sandbox: bool = True
    alpaca_key_id: SecretStr = SecretStr("")
    alpaca_secret_key: SecretStr = SecretStr("")
    alpaca_paper: bool = True
    # Real providers (issue 6): endpoints, limits, replay files
    tradier_base_url: str = ""  # empty: sandbox or production per WHEELFLOW_TRADIER_SANDBOX
    tradier_account_id: str = ""
    alpaca_data_url: str = "https://data.alpaca.markets"
    alpaca_trading_url: str = ""  # empty: paper or live per WHEELFLOW_ALPACA_PAPER
    alpaca_options_feed: Literal["indicative", "opra"] = "indicative"
    cboe_base_url: str = "https://cdn.cboe.com/api/global/delayed_quotes"
    files_path: Path | None = None  # a CSV/Parquet chain file, or a directory of them
    files_snapshot: str = ""  # which recorded snapshot_at to replay; empty: the latest
    provider_max_concurrency: int = Field(default=8, ge=1, le=256)
    provider_requests_per_minute: float | None = Field(default=None, gt=0, le=60000)
    provider_retry_max_delay_seconds: float = Field(default=30.0, ge=0, le=600)
    provider_max_days_to_expiry: int = Field(default=60, ge=0, le=1000)
    # Alert delivery (issue 15): Apprise URLs, the outbox dispatcher, the RabbitMQ queue
    alert_urls: str = ""  # comma-separated Apprise URLs: the default subscription (every alert)
    alert_secret_key: SecretStr = SecretStr("")  # Fernet key for stored channel URLs
    alert_max_attempts: int = Field(default=8, ge=1, le=100)  # then the delivery is dead
    alert_retry_base_seconds: float = Field(default=30.0, ge=0, le=86400)
    alert_retry_max_seconds: float = Field(default=3600.0, ge=0, le=7 * 86400)
    alert_lease_seconds: float = Field(default=120.0, gt=0, le=3600)
    alert_send_concurrency: int = Field(default=16, ge=1, le=256)
    alert_dispatch_seconds: float = Field(default=5.0, ge=0, le=3600)  # API's dispatcher; 0 off
    amqp_url: SecretStr = SecretStr("")  # amqp://user:pass@host:5672/ ; empty: in process
    amqp_exchange: str = Field(default="wheelflow.alerts", min_length=1, max_length=200)
    amqp_queue: str = Field(default="wheelflow.notify", min_length=1, max_length=200)
    alertmanager_token: SecretStr = SecretStr("")  # bearer token of POST /webhooks/alertmanager

    @field_validator("alert_urls")
    @classmethod
    def _check_alert_urls(cls, value: str) -> str:
        if value.strip():
            from wheelflow.alerts.channels import parse_url_list

            try:
                parse_url_list(value)
            except ConfigError as exc:  # names the (redacted) URL Apprise cannot use
                raise ValueError(str(exc)) from None
        return value

    @property
    def alert_url_list(self) -> list[str]:
        from wheelflow.alerts.channels import parse_url_list

        return parse_url_list(self.alert_urls) if self.alert_urls.strip() else []

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "must be a sqlite:/// or postgresql+psycopg:// SQLAlchemy URL, got "
                f"{value.split('://')[0]!r}"
            )
        if value.startswith(("postgresql://", "postgres://")):
            # One driver for sync and async: psycopg 3.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _check_jwt_secret(cls, value: SecretStr) -> SecretStr:
        size = len(value.get_secret_value().encode())
        if 0 < size < JWT_SECRET_MIN_BYTES:
            raise ValueError(
                f"must have at least {JWT_SECRET_MIN_BYTES} bytes (got {size}); generate one "
                "with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wheelflow.sqlite').as_posix()}"

    @property
    def password_policy(self) -> PasswordPolicy:
        return PasswordPolicy(self.password_min_length, self.password_min_score)

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; a bad value raises ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "?"
            problems.append(f"WHEELFLOW_{key.upper()}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def configure_prefect_home(settings: Settings) -> None:
    """Point Prefect's local ephemeral mode at the project's data dir, unless already configured."""
    if "PREFECT_HOME" not in os.environ and "PREFECT_API_URL" not in os.environ:
        settings.prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(settings.prefect_home)
    # The ephemeral server needs ~6-11 s to start here; give a loaded machine room.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
