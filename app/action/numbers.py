"""``switchboard numbers connect|disconnect``: point a Twilio number's webhooks at Switchboard, and back.

``connect`` finds the number (``incoming_phone_numbers`` list, filtered by ``phone_number``), saves its
current SMS, voice and status-callback settings in ``number_connections`` *before* changing anything (so
a crash after Twilio's update still leaves something to restore), then updates it
(``incoming_phone_numbers`` update) to Switchboard's webhooks, whose paths come from the definition.
Connecting a connected number again re-applies Switchboard's URLs and keeps the settings saved first.

``disconnect`` writes the saved values back and forgets them. Twilio clears a URL that is sent empty, so
a URL that was unset (``null`` or ``""``) is restored by sending ``""``; a method cannot be blank, so an
unset method is left as it is (Twilio reports its default, POST, for an unset method anyway).

Both go through the operation engine, like every other call to Twilio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock
from app.action import repository
from app.action.actions import webhook_url
from app.action.engine import Item, Kind, OperationEngine
from app.action.repository import REMEMBERED, NumberConnection
from app.config import Settings
from app.connector.registry import Registry
from app.connector.schema import PLACEHOLDER
from app.errors import TwilioError

RESOURCE = "incoming_phone_numbers"
MESSAGE_EVENT = "messages/message_received"
CALL_EVENT = "calls/call_received"
CALL_STATUS_EVENT = "calls/call_status"


class NumbersError(Exception):
    """The command cannot do what was asked; the message says why and what to do, on one line."""


@dataclass(frozen=True, slots=True)
class Change:
    parameter: str  # Twilio's name, e.g. SmsUrl
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Report:
    phone_number: str
    number_sid: str
    changes: list[Change]
    note: str | None = None


def targets(public_url: str, registry: Registry) -> dict[str, str]:
    """Switchboard's webhook settings for a number: URLs from the definition's webhook paths, POST."""
    urls = {
        "sms_url": webhook_url(public_url, registry, MESSAGE_EVENT),
        "voice_url": webhook_url(public_url, registry, CALL_EVENT),
        "status_callback": webhook_url(public_url, registry, CALL_STATUS_EVENT),
    }
    missing = [name for name, url in urls.items() if url is None]
    if missing:
        raise NumbersError(f"the connector definitions declare no webhook for {', '.join(missing)}")
    methods = {"sms_method": "POST", "voice_method": "POST", "status_callback_method": "POST"}
    return {name: value for name, value in {**urls, **methods}.items() if value is not None}


async def connect(
    engine: OperationEngine, db: AsyncEngine, registry: Registry, public_url: str, phone_number: str
) -> Report:
    wanted = targets(public_url, registry)
    number = await find(engine, phone_number)
    sid = str(number.raw["sid"])
    current = {name: _text(number.raw.get(name)) for name in REMEMBERED}
    async with db.begin() as conn:
        saved = await repository.get_connection(conn, engine.account_sid, phone_number)
        if saved is None:
            record = NumberConnection(engine.account_sid, phone_number, sid, current, clock.utc_now())
            await repository.insert_connection(conn, record)
    try:
        updated = await engine.run(RESOURCE, Kind.UPDATE, {"sid": sid, **wanted})
    except TwilioError:
        if saved is None:  # Twilio refused the update: nothing changed, so there is nothing to restore
            async with db.begin() as conn:
                await repository.delete_connection(conn, engine.account_sid, phone_number)
        raise
    note = None
    if saved is not None:
        note = (
            f"it was already connected (since {saved.connected_at:%Y-%m-%d %H:%M} UTC): the settings saved "
            "then are kept for disconnect"
        )
    return Report(phone_number, sid, _changes(engine, current, updated), note)


async def disconnect(engine: OperationEngine, db: AsyncEngine, phone_number: str) -> Report:
    async with db.begin() as conn:
        saved = await repository.get_connection(conn, engine.account_sid, phone_number)
    if saved is None:
        raise NumbersError(f"{phone_number} is not connected: no saved settings to restore")
    try:
        number = await engine.run(RESOURCE, Kind.READ, {"sid": saved.number_sid})
    except TwilioError as exc:
        if exc.status_code != 404:
            raise
        await _forget(db, saved)
        return Report(phone_number, saved.number_sid, [], "the number is no longer on the account")
    assert number is not None
    current = {name: _text(number.raw.get(name)) for name in REMEMBERED}
    restore: dict[str, Any] = {}
    for name, before in saved.previous.items():
        if name.endswith("_method"):
            if before:
                restore[name] = before
        else:
            restore[name] = before or ""  # an empty URL is how Twilio is told to unset it
    updated = await engine.run(RESOURCE, Kind.UPDATE, {"sid": saved.number_sid, **restore})
    await _forget(db, saved)
    return Report(phone_number, saved.number_sid, _changes(engine, current, updated))


async def find(engine: OperationEngine, phone_number: str) -> Item:
    """The account's number that is exactly ``phone_number`` (Twilio's filter also matches parts)."""
    cursor: str | None = None
    while True:
        page = await engine.list(RESOURCE, {"phone_number": phone_number}, cursor)
        for item in page.items:
            if item.raw.get("phone_number") == phone_number:
                return item
        cursor = page.next_cursor
        if cursor is None:
            raise NumbersError(f"{phone_number} is not a phone number of account {engine.account_sid}")


async def _forget(db: AsyncEngine, saved: NumberConnection) -> None:
    async with db.begin() as conn:
        await repository.delete_connection(conn, saved.account_sid, saved.phone_number)


def _changes(engine: OperationEngine, before: dict[str, str | None], updated: Item | None) -> list[Change]:
    assert updated is not None
    names = _twilio_names(engine)
    return [Change(names.get(name, name), before[name], _text(updated.raw.get(name))) for name in REMEMBERED]


def _twilio_names(engine: OperationEngine) -> dict[str, str]:
    """Placeholder → Twilio parameter name (``sms_url`` → ``SmsUrl``), from the update's bodyTemplate."""
    template = engine.operation(RESOURCE, Kind.UPDATE).definition.body_template
    if template is None:
        return {}
    names = {}
    for key, text in template.value.items():
        match = PLACEHOLDER.fullmatch(text.strip())
        if match is not None:
            names[match.group(1)] = key
    return names


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def render(report: Report, *, connected: bool) -> list[str]:
    """What the command prints: one line per setting, before → after."""
    who = f"{report.phone_number} ({report.number_sid})"
    if connected:
        head = f"{who} now sends its webhooks to Switchboard:"
    elif report.changes:
        head = f"{who} has its previous webhook settings back:"
    else:
        head = f"{who}: nothing to restore; its saved settings are forgotten."
    lines = [head]
    width = max((len(change.parameter) for change in report.changes), default=0)
    for change in report.changes:
        before, after = change.before or "(not set)", change.after or "(not set)"
        mark = "" if change.before != change.after else "   (unchanged)"
        lines.append(f"  {change.parameter:<{width}}  {before}  ->  {after}{mark}")
    if report.note:
        lines.append(f"Note: {report.note}.")
    if connected:
        lines.append(f"Undo with: switchboard numbers disconnect {report.phone_number}")
    return lines


async def run_command(settings: Settings, command: str, phone_number: str) -> list[str]:
    """The whole command: schema up to date, then connect or disconnect; the lines to print.

    Raises NumbersError, ConfigError-like AppErrors (Twilio not configured, Twilio's errors) for the CLI
    to report on one line.
    """
    from app import migrate
    from app.action.client import new_http_client
    from app.db import create_engine
    from app.runtime import load_registry

    if command == "connect" and settings.public_url is None:
        raise NumbersError(
            "SWITCHBOARD_PUBLIC_URL is not set: it is the base URL Twilio will call, e.g. https://hooks.example.com"
        )
    registry = load_registry(settings)
    db = create_engine(settings)
    try:
        await migrate.upgrade(db)
        async with new_http_client() as http:
            engine = OperationEngine.create(settings, registry, http)
            if command == "connect":
                assert settings.public_url is not None
                report = await connect(engine, db, registry, settings.public_url, phone_number)
                return render(report, connected=True)
            return render(await disconnect(engine, db, phone_number), connected=False)
    finally:
        await db.dispose()
