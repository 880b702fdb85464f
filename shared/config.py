"""Settings for every part of Honey Drip, read from the environment and `.env`."""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DISCORD_API_BASE = "https://discord.com/api"
DEFAULT_MASSIVE_WS_URL = "wss://socket.massive.com"
DEFAULT_MASSIVE_REST_URL = "https://api.massive.com"


class Settings(BaseSettings):
    """Every variable the functions, the relay and the local stack read.

    Field names are the variable names (case-insensitive); the predecessor's `VITE_*`
    names are accepted as aliases so an existing deployment keeps working. One rule for every
    variable: an empty (or blank) value means unset, so `.env.example`'s `NAME=` lines and a
    template's empty parameters give the defaults, never a config error or a half-set secret.
    """

    model_config = SettingsConfigDict(
        # `.local/dev.env` holds what `make dev` generated (a local JWT secret); `.env` overrides it,
        # and real environment variables override both.
        env_file=(".local/dev.env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        # Empty means unset (see _empty_means_unset): dropped per source, so an empty `.env` line never
        # hides what `.local/dev.env` holds.
        env_ignore_empty=True,
    )

    # Database. Unset means: start the embedded Postgres (local use and tests only).
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    db_pool_max_size: int = Field(default=2, ge=1, le=50, validation_alias="DB_POOL_MAX_SIZE")

    # Supabase.
    supabase_url: AnyHttpUrl | None = Field(
        default=None, validation_alias=AliasChoices("SUPABASE_URL", "VITE_SUPABASE_URL")
    )
    supabase_anon_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SUPABASE_ANON_KEY", "VITE_SUPABASE_ANON_KEY")
    )
    supabase_service_role_key: SecretStr | None = Field(
        default=None, validation_alias="SUPABASE_SERVICE_ROLE_KEY"
    )
    supabase_jwt_secret: SecretStr | None = Field(default=None, validation_alias="SUPABASE_JWT_SECRET")
    # Who is an admin (docs/admins.md): a token whose app_metadata.role is one of these. The
    # database's honeydrip.admin_roles table must hold the same roles.
    admin_roles: str = Field(default="admin", min_length=1, validation_alias="ADMIN_ROLES")

    # Massive.
    massive_api_key: SecretStr | None = Field(default=None, validation_alias="MASSIVE_API_KEY")
    massive_proxy_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("MASSIVE_PROXY_TOKEN", "VITE_MASSIVE_PROXY_TOKEN"),
    )
    massive_ws_url: str = Field(default=DEFAULT_MASSIVE_WS_URL, validation_alias="MASSIVE_WS_URL")
    massive_rest_url: AnyHttpUrl = Field(
        default=AnyHttpUrl(DEFAULT_MASSIVE_REST_URL), validation_alias="MASSIVE_REST_URL"
    )
    max_ws_connections: int = Field(default=5, ge=1, le=1000, validation_alias="MAX_WS_CONNECTIONS")
    # Seconds one process may spend waiting out Massive's 429s before its calls fail.
    massive_rate_limit_budget_s: float = Field(default=180.0, ge=0, validation_alias="MASSIVE_RATE_LIMIT_BUDGET_S")

    # The market routes (functions/api/market.py): requests per admin per minute, and how long one
    # request may wait on Massive (it must fit the function's timeout).
    market_requests_per_minute: int = Field(default=300, ge=1, validation_alias="MARKET_REQUESTS_PER_MINUTE")
    market_upstream_deadline_s: float = Field(default=8.0, gt=0, le=25, validation_alias="MARKET_UPSTREAM_DEADLINE_S")

    # Scheduled jobs.
    ingest_run_budget_s: float = Field(default=600.0, gt=0, validation_alias="INGEST_RUN_BUDGET_S")
    # A scan stops starting symbols after this many seconds, so it never runs into the next minute's.
    scanner_run_budget_s: float = Field(default=50.0, gt=0, validation_alias="SCANNER_RUN_BUDGET_S")
    # Seconds between gamma snapshots; a snapshot's bucket is its time floored to this, so keep it
    # equal to serverless.yml's gamma cron (every 5 minutes).
    gamma_interval_s: int = Field(default=300, ge=60, le=3600, validation_alias="GAMMA_INTERVAL")
    # A gamma run starts no symbol after this many seconds, and no Massive call outlasts it (Lambda: 240 s).
    gamma_run_budget_s: float = Field(default=200.0, gt=0, validation_alias="GAMMA_RUN_BUDGET_S")
    # Always snapshotted, besides every watchlist symbol with listed options.
    gamma_symbols: str = Field(default="SPX,NDX,SPY,QQQ", validation_alias="GAMMA_SYMBOLS")
    # Per-strike arrays are ~134 KB a symbol a snapshot: older snapshots keep their totals and levels only.
    gamma_strikes_retention_days: int = Field(default=7, ge=1, le=3650, validation_alias="GAMMA_STRIKES_RETENTION_DAYS")

    # Relay.
    relay_simulate: bool = Field(default=False, validation_alias="RELAY_SIMULATE")
    relay_allowed_origins: str = Field(default="", validation_alias="RELAY_ALLOWED_ORIGINS")
    # Browsers on http://localhost:* and http://127.0.0.1:* (make dev sets it; a deployed relay never should).
    relay_allow_local_origins: bool = Field(default=False, validation_alias="RELAY_ALLOW_LOCAL_ORIGINS")
    relay_max_clients: int = Field(default=1000, ge=1, validation_alias="RELAY_MAX_CLIENTS")
    relay_max_channels_per_client: int = Field(
        default=200, ge=1, le=1000, validation_alias="RELAY_MAX_CHANNELS_PER_CLIENT"
    )
    relay_idle_close_s: float = Field(default=60.0, ge=0, validation_alias="RELAY_IDLE_CLOSE_S")
    relay_ping_interval_s: float = Field(default=25.0, gt=0, validation_alias="RELAY_PING_INTERVAL_S")
    relay_pong_timeout_s: float = Field(default=10.0, gt=0, validation_alias="RELAY_PONG_TIMEOUT_S")
    relay_upstream_silence_s: float = Field(default=45.0, gt=0, validation_alias="RELAY_UPSTREAM_SILENCE_S")
    # Several relays behind one key (unset: one standalone process, as before).
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    relay_node_id: str | None = Field(default=None, max_length=100, validation_alias="RELAY_NODE_ID")
    relay_redis_prefix: str = Field(
        default="honeydrip:relay", min_length=1, max_length=100, validation_alias="RELAY_REDIS_PREFIX"
    )
    relay_lease_ttl_s: float = Field(default=3.0, ge=1.0, le=30.0, validation_alias="RELAY_LEASE_TTL_S")
    relay_fanout_shards: int = Field(default=1, ge=0, le=1024, validation_alias="RELAY_FANOUT_SHARDS")

    # Discord delivery.
    discord_api_base: AnyHttpUrl = Field(
        default=AnyHttpUrl(DEFAULT_DISCORD_API_BASE), validation_alias="DISCORD_API_BASE"
    )
    alert_queue_url: str | None = Field(default=None, validation_alias="ALERT_QUEUE_URL")

    # HTTP.
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="PORT")
    web_origin: str | None = Field(default=None, validation_alias="WEB_ORIGIN")

    # Logs.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", validation_alias="LOG_LEVEL"
    )
    # auto: text when stderr is a terminal, JSON otherwise (Lambda, CloudWatch, a pipe).
    log_format: Literal["json", "text", "auto"] = Field(default="auto", validation_alias="LOG_FORMAT")

    @model_validator(mode="before")
    @classmethod
    def _empty_means_unset(cls, values: object) -> object:
        # Every source (environment, .env, .local/dev.env) reaches here as one mapping of raw strings.
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
        return values

    @field_validator("discord_api_base", mode="after")
    @classmethod
    def _unversioned_root(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        # The client adds the pinned version (/v10); a base carrying its own would double it.
        if re.search(r"/v[0-9]+/?$", value.path or ""):
            raise ValueError("give Discord's API root (https://discord.com/api); the version is pinned in the code")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url", mode="after")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        text = value.get_secret_value()
        # libpq also takes "host=… dbname=…" strings; anything else is a mistake worth stopping for.
        if not text.startswith(("postgres://", "postgresql://")) and "=" not in text:
            raise ValueError("must be a postgres:// or postgresql:// URL")
        return value

    @field_validator("massive_ws_url", mode="after")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws:// or wss:// URL")
        return value.rstrip("/")

    @field_validator("web_origin", mode="after")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// origin")
        return value.rstrip("/") if value else value

    @property
    def admin_role_set(self) -> frozenset[str]:
        """`ADMIN_ROLES` as a set of role names."""
        return frozenset(r.strip() for r in self.admin_roles.split(",") if r.strip())

    @property
    def allowed_relay_origins(self) -> frozenset[str]:
        """`RELAY_ALLOWED_ORIGINS` as a set; `WEB_ORIGIN` is always allowed too."""
        origins = {o.strip().rstrip("/") for o in self.relay_allowed_origins.split(",") if o.strip()}
        if self.web_origin:
            origins.add(self.web_origin)
        return frozenset(origins)


class ConfigError(SystemExit):
    """A bad variable: start-up stops with one line naming it."""


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"
    name = Settings.model_fields[field].validation_alias if field in Settings.model_fields else field
    if isinstance(name, AliasChoices):
        name = str(name.choices[0])
    return f"config error: {name or field.upper()}: {first['msg']}"


def load_settings() -> Settings:
    """Read the settings now; a bad value raises ConfigError with one line naming the variable."""
    try:
        # Tests set HONEYDRIP_IGNORE_ENV_FILES so a developer's .env never leaks into them.
        if os.environ.get("HONEYDRIP_IGNORE_ENV_FILES"):
            return Settings(_env_file=None)
        return Settings()
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()


def settings_or_exit() -> Settings:
    """For entry points: print the one-line config error to stderr and exit 2."""
    try:
        return get_settings()
    except ConfigError as error:
        print(error.code, file=sys.stderr)
        raise SystemExit(2) from None
