"""Settings: defaults, parsing, and start-stopping errors that name the variable."""

from __future__ import annotations

import ipaddress

import pytest

from app.config import ConfigError, SignatureMode, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("SWITCHBOARD_", "TWILIO_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmp_path))  # no stray .env


def test_enforce_mode_without_an_auth_token_refuses_to_start() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "TWILIO_AUTH_TOKEN is required" in str(info.value)
    assert "\n" not in str(info.value)


def test_off_mode_starts_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_SIGNATURE_MODE", "off")
    assert load_settings().signature_mode is SignatureMode.OFF


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    settings = load_settings()
    assert settings.database_url == "sqlite:///./switchboard.db"
    assert settings.retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert settings.delivery_timeout == 15 and settings.max_body_bytes == 65536
    assert settings.allow_private_callbacks is False
    assert settings.twilio_api_base_url == "https://api.twilio.com"


def test_dotenv_in_the_working_directory_is_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    Path(".env").write_text("TWILIO_AUTH_TOKEN=from-dotenv\nSWITCHBOARD_MAX_BODY_BYTES=1000\n")
    settings = load_settings()
    assert settings.auth_tokens == ("from-dotenv",) and settings.max_body_bytes == 1000


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("SWITCHBOARD_SIGNATURE_MODE", "strict", "SWITCHBOARD_SIGNATURE_MODE"),
        ("SWITCHBOARD_RETRY_SCHEDULE", "5,,10", "SWITCHBOARD_RETRY_SCHEDULE"),
        ("SWITCHBOARD_RETRY_SCHEDULE", "5,-1", "SWITCHBOARD_RETRY_SCHEDULE"),
        ("SWITCHBOARD_DELIVERY_TIMEOUT", "0", "SWITCHBOARD_DELIVERY_TIMEOUT"),
        ("SWITCHBOARD_MAX_BODY_BYTES", "lots", "SWITCHBOARD_MAX_BODY_BYTES"),
        ("SWITCHBOARD_PUBLIC_URL", "hooks.example.com", "SWITCHBOARD_PUBLIC_URL"),
        ("SWITCHBOARD_TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip", "SWITCHBOARD_TRUSTED_PROXIES"),
        ("SWITCHBOARD_DATABASE_URL", "mysql://x", "SWITCHBOARD_DATABASE_URL"),
        ("SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS", "perhaps", "SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS"),
        ("TWILIO_API_BASE_URL", "ftp://api", "TWILIO_API_BASE_URL"),
    ],
    ids=["mode", "schedule-empty-item", "schedule-negative", "timeout-zero", "body-not-int", "public-url-relative",
         "proxy-not-ip", "database-kind", "bool", "api-base-scheme"],
)  # fmt: skip
def test_a_bad_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(fragment)


def test_trusted_proxies_star_trusts_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    monkeypatch.setenv("SWITCHBOARD_TRUSTED_PROXIES", "*")
    proxies = load_settings().trusted_proxies
    assert proxies is not None and ipaddress.ip_address("198.51.100.1") in proxies[0]


def test_secrets_are_not_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "supersecrettoken")
    monkeypatch.setenv("SWITCHBOARD_API_TOKEN", "apisecret")
    text = repr(load_settings())
    assert "supersecrettoken" not in text and "apisecret" not in text
