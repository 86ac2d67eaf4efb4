"""Settings: the only module that reads the environment (and ``.env``); bad values name their variable."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.delivery.retry import parse_schedule
from app.logging import LogFormat

DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SignatureMode(StrEnum):
    ENFORCE = "enforce"
    MONITOR = "monitor"
    OFF = "off"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and says why, on one line."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    # env_ignore_empty: an empty variable counts as unset, as docker-compose's `${VAR:-}` passes it.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    database_url: str = Field("sqlite:///./switchboard.db", validation_alias=_env("SWITCHBOARD_DATABASE_URL"))
    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_auth_token_secondary: SecretStr | None = Field(
        None, validation_alias=_env("TWILIO_AUTH_TOKEN_SECONDARY")
    )
    twilio_api_base_url: str = Field("https://api.twilio.com", validation_alias=_env("TWILIO_API_BASE_URL"))
    public_url: str | None = Field(None, validation_alias=_env("SWITCHBOARD_PUBLIC_URL"))
    trusted_proxies: Annotated[tuple[Network, ...] | None, NoDecode] = Field(
        None, validation_alias=_env("SWITCHBOARD_TRUSTED_PROXIES")
    )
    signature_mode: SignatureMode = Field(
        SignatureMode.ENFORCE, validation_alias=_env("SWITCHBOARD_SIGNATURE_MODE")
    )
    api_token: SecretStr | None = Field(None, validation_alias=_env("SWITCHBOARD_API_TOKEN"))
    allow_private_callbacks: bool = Field(False, validation_alias=_env("SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS"))
    retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        parse_schedule(DEFAULT_RETRY_SCHEDULE), validation_alias=_env("SWITCHBOARD_RETRY_SCHEDULE")
    )
    delivery_timeout: float = Field(15.0, gt=0, validation_alias=_env("SWITCHBOARD_DELIVERY_TIMEOUT"))
    max_body_bytes: int = Field(65536, gt=0, validation_alias=_env("SWITCHBOARD_MAX_BODY_BYTES"))
    connectors_path: Path | None = Field(None, validation_alias=_env("SWITCHBOARD_CONNECTORS_PATH"))

    # Beyond the contract: tuning knobs with safe defaults.
    sqlite_synchronous: str = Field(
        "FULL", pattern="^(?i:FULL|NORMAL|EXTRA)$", validation_alias=_env("SWITCHBOARD_SQLITE_SYNCHRONOUS")
    )
    delivery_concurrency: int = Field(64, gt=0, validation_alias=_env("SWITCHBOARD_DELIVERY_CONCURRENCY"))
    delivery_lease: float = Field(60.0, gt=0, validation_alias=_env("SWITCHBOARD_DELIVERY_LEASE"))
    log_level: str = Field(
        "INFO",
        pattern="^(?i:DEBUG|INFO|WARNING|ERROR|CRITICAL)$",
        validation_alias=_env("SWITCHBOARD_LOG_LEVEL"),
    )
    log_format: LogFormat = Field(LogFormat.JSON, validation_alias=_env("SWITCHBOARD_LOG_FORMAT"))
    # Unset: events are kept forever. Set: `serve` and `worker` prune older ones in the background.
    retention_days: int | None = Field(None, gt=0, validation_alias=_env("SWITCHBOARD_RETENTION_DAYS"))

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        items = [item.strip() for item in value.split(",") if item.strip()]
        if "*" in items:
            return (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
        return tuple(ipaddress.ip_network(item, strict=False) for item in items) or None

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: object) -> object:
        return parse_schedule(value) if isinstance(value, str) else value

    @field_validator("public_url", "twilio_api_base_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL, e.g. https://hooks.example.com")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must be sqlite:///PATH or postgresql://user:pass@host:5432/db")
        return value

    @model_validator(mode="after")
    def _token_when_enforcing(self) -> Settings:
        if self.signature_mode is not SignatureMode.OFF and self.twilio_auth_token is None:
            raise ValueError(
                f"TWILIO_AUTH_TOKEN is required when SWITCHBOARD_SIGNATURE_MODE={self.signature_mode.value} "
                "(it verifies X-Twilio-Signature)"
            )
        return self

    @cached_property
    def auth_tokens(self) -> tuple[str, ...]:
        """Tokens accepted for webhook signatures: the primary, then the secondary during rotation."""
        tokens = (self.twilio_auth_token, self.twilio_auth_token_secondary)
        return tuple(t.get_secret_value() for t in tokens if t is not None)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, for the log filter that masks them wherever they show up."""
        values = [*self.auth_tokens]
        if self.api_token is not None:
            values.append(self.api_token.get_secret_value())
        password = urlsplit(self.database_url).password
        if password:
            values.append(password)
        return tuple(values)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_ALIASES = {name: field.validation_alias for name, field in Settings.model_fields.items()}


def load_settings(**overrides: object) -> Settings:
    """Read the environment; raise ConfigError with one line per bad variable, naming it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = error["loc"][0] if error["loc"] else ""
            alias = _ALIASES.get(str(loc))
            name = alias.choices[0] if isinstance(alias, AliasChoices) else loc
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}" if name else message)
        raise ConfigError("; ".join(lines)) from None
