"""``switchboard numbers connect|disconnect``: a number points at Switchboard, then is exactly as before."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.action import numbers
from app.db import create_engine
from app.models import number_connections
from tests.action.conftest import PUBLIC_URL, empty_action_tables
from tests.conftest import make_settings
from tests.fake_twilio import FakeTwilio
from tests.processes import SWITCHBOARD

NUMBER = "+15005550006"
PREVIOUS = {
    "sms_url": "https://old.example.com/sms",
    "sms_method": "GET",
    "voice_url": "",
    "voice_method": "POST",
    "status_callback": "https://old.example.com/status",
    "status_callback_method": "GET",
}
CONNECTED = {
    "sms_url": f"{PUBLIC_URL}/webhooks/twilio/messages",
    "sms_method": "POST",
    "voice_url": f"{PUBLIC_URL}/webhooks/twilio/calls",
    "voice_method": "POST",
    "status_callback": f"{PUBLIC_URL}/webhooks/twilio/calls/status",
    "status_callback_method": "POST",
}


@pytest.fixture
async def settings(database_url: str, fake_twilio: FakeTwilio) -> Any:
    await empty_action_tables(database_url)
    return make_settings(
        database_url,
        twilio_api_base_url=fake_twilio.base_url,
        twilio_account_sid=fake_twilio.account_sid,
        twilio_auth_token=fake_twilio.auth_token,
        public_url=PUBLIC_URL,
    )


def seed_number(fake: FakeTwilio, **fields: Any) -> dict[str, Any]:
    fake.add(
        "incoming_phone_numbers", {"phone_number": NUMBER + "1"}
    )  # a decoy the PhoneNumber filter also matches
    return dict(fake.add("incoming_phone_numbers", {"phone_number": NUMBER, **fields}))


def settings_of(fake: FakeTwilio, sid: str) -> dict[str, Any]:
    number = fake.get("incoming_phone_numbers", sid)
    assert number is not None
    return {name: number[name] for name in PREVIOUS}


async def saved_rows(settings: Any) -> list[dict[str, Any]]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(select(number_connections))]
    finally:
        await engine.dispose()


async def test_connect_then_disconnect_leaves_the_number_exactly_as_before(
    settings: Any, fake_twilio: FakeTwilio
) -> None:
    before = seed_number(fake_twilio, **PREVIOUS)
    lines = await numbers.run_command(settings, "connect", NUMBER)
    assert settings_of(fake_twilio, before["sid"]) == CONNECTED
    assert lines[0] == f"{NUMBER} ({before['sid']}) now sends its webhooks to Switchboard:"
    assert any(
        "SmsUrl" in line and "https://old.example.com/sms" in line and CONNECTED["sms_url"] in line
        for line in lines
    )
    assert any("VoiceMethod" in line and "(unchanged)" in line for line in lines)
    [row] = await saved_rows(settings)
    assert {name: row[name] for name in PREVIOUS} == PREVIOUS

    lines = await numbers.run_command(settings, "disconnect", NUMBER)
    after = fake_twilio.get("incoming_phone_numbers", before["sid"])
    assert after is not None
    assert {k: v for k, v in after.items() if k != "date_updated"} == {
        k: v for k, v in before.items() if k != "date_updated"
    }
    assert lines[0] == f"{NUMBER} ({before['sid']}) has its previous webhook settings back:"
    assert await saved_rows(settings) == []


async def test_every_change_goes_through_the_definitions_operations(
    settings: Any, fake_twilio: FakeTwilio
) -> None:
    seed_number(fake_twilio, **PREVIOUS)
    await numbers.run_command(settings, "connect", NUMBER)
    listing, update = fake_twilio.requests
    assert (listing.method, listing.path, listing.query_values("PhoneNumber")) == (
        "GET", fake_twilio.path("IncomingPhoneNumbers.json"), [NUMBER]
    )  # fmt: skip
    assert update.method == "POST"
    assert dict(update.form) == {
        "SmsUrl": CONNECTED["sms_url"], "SmsMethod": "POST", "VoiceUrl": CONNECTED["voice_url"],
        "VoiceMethod": "POST", "StatusCallback": CONNECTED["status_callback"], "StatusCallbackMethod": "POST",
    }  # fmt: skip


async def test_unset_urls_are_unset_again(settings: Any, fake_twilio: FakeTwilio) -> None:
    before = seed_number(fake_twilio, sms_url=None, voice_url=None, status_callback=None)
    await numbers.run_command(settings, "connect", NUMBER)
    await numbers.run_command(settings, "disconnect", NUMBER)
    restored = settings_of(fake_twilio, before["sid"])
    # Twilio is told to unset a URL by an empty value; unset reads back as "" or null.
    assert {name: restored[name] or None for name in ("sms_url", "voice_url", "status_callback")} == {
        "sms_url": None, "voice_url": None, "status_callback": None
    }  # fmt: skip


async def test_connecting_twice_keeps_the_first_saved_settings(
    settings: Any, fake_twilio: FakeTwilio
) -> None:
    before = seed_number(fake_twilio, **PREVIOUS)
    await numbers.run_command(settings, "connect", NUMBER)
    lines = await numbers.run_command(settings, "connect", NUMBER)
    assert any("already connected" in line for line in lines)
    await numbers.run_command(settings, "disconnect", NUMBER)
    assert settings_of(fake_twilio, before["sid"]) == PREVIOUS


@pytest.mark.parametrize(
    ("command", "overrides", "message"),
    [
        ("connect", {"public_url": None}, "SWITCHBOARD_PUBLIC_URL is not set"),
        ("connect", {}, "+15005550099 is not a phone number of account"),
        ("disconnect", {}, "+15005550099 is not connected: no saved settings to restore"),
    ],
    ids=["connect-needs-public-url", "unknown-number", "disconnect-without-connect"],
)
async def test_refusals_say_why(
    settings: Any, fake_twilio: FakeTwilio, command: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(numbers.NumbersError, match=message.replace("+", r"\+")):
        await numbers.run_command(settings.model_copy(update=overrides), command, "+15005550099")
    if command == "connect" and not overrides:
        assert len(fake_twilio.requests) == 1  # looked, changed nothing


async def test_a_number_released_since_connect_is_forgotten(settings: Any, fake_twilio: FakeTwilio) -> None:
    seed_number(fake_twilio, **PREVIOUS)
    await numbers.run_command(settings, "connect", NUMBER)
    fake_twilio.reset()
    lines = await numbers.run_command(settings, "disconnect", NUMBER)
    assert "nothing to restore" in lines[0]
    assert await saved_rows(settings) == []


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}
    return subprocess.run(
        [SWITCHBOARD, *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_connects_and_disconnects(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    before = seed_number(fake_twilio, **PREVIOUS)
    env = {**fake_twilio.env, "SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}"}

    refused = _run(["numbers", "connect", NUMBER], env, tmp_path)
    assert refused.returncode == 2
    assert "SWITCHBOARD_PUBLIC_URL is not set" in refused.stderr

    connected = _run(["numbers", "connect", NUMBER], {**env, "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL}, tmp_path)
    assert connected.returncode == 0, connected.stderr
    assert "SmsUrl" in connected.stdout and CONNECTED["sms_url"] in connected.stdout
    assert settings_of(fake_twilio, before["sid"]) == CONNECTED

    disconnected = _run(["numbers", "disconnect", NUMBER], env, tmp_path)
    assert disconnected.returncode == 0, disconnected.stderr
    assert settings_of(fake_twilio, before["sid"]) == PREVIOUS
    assert (
        fake_twilio.auth_token
        not in connected.stdout + connected.stderr + disconnected.stdout + disconnected.stderr
    )

    malformed = _run(["numbers", "connect", "555-0100"], env, tmp_path)
    assert malformed.returncode == 2
    assert "E.164" in malformed.stderr
