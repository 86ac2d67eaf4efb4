"""The ``switchboard`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, cast

import uvloop

from app.config import ConfigError, Settings, SignatureMode, load_settings
from app.connector.loader import DefinitionError, default_connectors_dir, load_dir

log = logging.getLogger("switchboard")


def fail(message: str) -> NoReturn:
    print(f"switchboard: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))


def _configure_logging(settings: Settings) -> None:
    from app.logging import configure

    configure(settings.log_level, settings.log_format, settings.secret_values)


async def _upgrade(settings: Settings) -> str | None:
    from app import migrate
    from app.db import create_engine

    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        return await migrate.current_revision(engine)
    finally:
        await engine.dispose()


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    settings = _settings(signature_mode=SignatureMode.OFF)
    try:
        revision = asyncio.run(_upgrade(settings))
    except OSError as exc:
        fail(f"cannot reach the database at SWITCHBOARD_DATABASE_URL: {exc}")
    print(f"database at revision {revision} (head)")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn
    from fastapi import FastAPI

    from app import server
    from app.main import create_app
    from app.runtime import Runtime

    settings = _settings()
    _configure_logging(settings)
    if settings.signature_mode is SignatureMode.OFF:
        log.warning(
            "!!! SWITCHBOARD_SIGNATURE_MODE=off: webhook signatures are NOT checked. Development only. !!!"
        )
    try:
        app = create_app(settings, run_worker=not args.no_worker)
    except DefinitionError as exc:
        fail(f"invalid connector definition:\n{exc}")
    try:
        revision = asyncio.run(_upgrade(settings))
    except OSError as exc:
        fail(f"cannot reach the database at SWITCHBOARD_DATABASE_URL: {exc}")
    log.info("database schema at revision %s", revision)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        # Forwarded headers are judged by SWITCHBOARD_TRUSTED_PROXIES in the signature check, not by
        # uvicorn, which would otherwise trust them from 127.0.0.1.
        proxy_headers=False,
        access_log=False,  # ours is app/access.py
        log_config=None,  # keep the logging configured above (JSON, redacted)
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=server.DRAIN_SECONDS,
    )
    runtime: Runtime = cast(FastAPI, app.app).state.runtime
    server.run(config, on_exit=runtime.begin_shutdown)


async def _run_worker(settings: Settings, args: argparse.Namespace) -> None:
    from app import migrate, worker_process
    from app.db import create_engine

    engine = create_engine(settings)
    try:
        current, head = await migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            fail(f"the database schema is at {current}, not {head}: run `switchboard db upgrade` first")
        await worker_process.run(
            engine, settings, metrics_host=args.metrics_host, metrics_port=args.metrics_port
        )
    finally:
        await engine.dispose()


def cmd_worker(args: argparse.Namespace) -> None:
    from app.worker_process import StartError

    # The worker serves no webhooks, so it needs no Twilio auth token.
    settings = _settings(signature_mode=SignatureMode.OFF)
    _configure_logging(settings)
    try:
        # uvloop, as `serve` has through uvicorn: the worker is an event loop full of sockets.
        uvloop.run(_run_worker(settings, args))
    except StartError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot reach the database at SWITCHBOARD_DATABASE_URL: {exc}")


async def _prune(settings: Settings, days: int, batch_size: int, dry_run: bool) -> str:
    from datetime import timedelta

    from app import clock
    from app.db import create_engine
    from app.event import retention
    from app.progress import Progress

    cutoff = clock.utc_now() - timedelta(days=days)
    when = cutoff.isoformat(timespec="seconds")
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            census = await retention.census(conn, cutoff)
        kept = (
            f"; kept {census.kept_pending} older events that still have pending deliveries"
            if census.kept_pending
            else ""
        )
        if dry_run:
            found = census.prunable
            return (
                f"dry run: would prune {found.events} events received before {when} (with "
                f"{found.deliveries} deliveries and {found.attempts} attempts){kept}; nothing was changed"
            )
        progress = Progress(census.prunable.events, "events")
        done = await retention.prune(
            engine, cutoff, batch_size, on_batch=lambda batch: progress.advance(batch.events)
        )
        progress.finish()
    finally:
        await engine.dispose()
    return (
        f"pruned {done.events} events received before {when} (with {done.deliveries} deliveries "
        f"and {done.attempts} attempts){kept}"
    )


def cmd_events_prune(args: argparse.Namespace) -> None:
    from sqlalchemy.exc import DBAPIError

    settings = _settings(signature_mode=SignatureMode.OFF)
    days = args.older_than_days or settings.retention_days
    if days is None:
        fail("give --older-than-days N, or set SWITCHBOARD_RETENTION_DAYS")
    try:
        print(asyncio.run(_prune(settings, days, args.batch_size, args.dry_run)))
    except (OSError, DBAPIError) as exc:
        fail(f"cannot reach the database at SWITCHBOARD_DATABASE_URL: {exc}")


def _positive_int(maximum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if not 0 < number <= maximum:
            raise argparse.ArgumentTypeError(f"must be between 1 and {maximum}")
        return number

    return parse


async def _create_api_token(settings: Settings, name: str) -> tuple[str, str]:
    from app import migrate
    from app.api_token import service as api_token_service
    from app.db import create_engine

    engine = create_engine(settings)
    try:
        # The token needs its table: bring the schema up to date, as `db upgrade` would.
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            return await api_token_service.create_token(conn, name)
    finally:
        await engine.dispose()


def cmd_api_tokens_create(args: argparse.Namespace) -> None:
    from sqlalchemy.exc import DBAPIError

    settings = _settings(signature_mode=SignatureMode.OFF)
    try:
        token_id, token = asyncio.run(_create_api_token(settings, args.name))
    except (OSError, DBAPIError) as exc:
        fail(f"cannot reach the database at SWITCHBOARD_DATABASE_URL: {exc}")
    # The token alone on stdout, so `TOKEN=$(switchboard api-tokens create)` captures just it.
    print(token)
    print(
        f"API token {token_id} ({args.name!r}) created. It is shown only this once: store it now; "
        "the database keeps only its hash.",
        file=sys.stderr,
    )


def _token_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 200:
        raise argparse.ArgumentTypeError("a name is 1 to 200 characters")
    return name


def cmd_connectors_check(args: argparse.Namespace) -> None:
    folder = Path(args.path) if args.path else _settings(signature_mode=SignatureMode.OFF).connectors_path
    folder = folder or default_connectors_dir()
    try:
        loaded = load_dir(folder)
    except DefinitionError as exc:
        print(f"{len(exc.problems)} problem(s) in {folder}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(1) from None
    for path, connector in loaded.items():
        count = len(connector.resources)
        print(f"{path.name}: connector {connector.handle!r} ({connector.status}), {count} resources")
        for resource in connector.resources:
            ops = [
                name
                for name in ("list", "read", "create", "update", "delete")
                if getattr(resource.operations, name)
            ]
            print(f"  {resource.handle:<24} {', '.join(ops) or '-'}")
            for webhook in resource.webhooks:
                key = (
                    " + ".join(".".join(map(str, s)) for s in webhook.dedupe_key) or "hash of all parameters"
                )
                print(f"    webhook POST {webhook.path} -> {resource.handle}/{webhook.event} (dedupe: {key})")
    print("ok")


def cmd_simulate(args: argparse.Namespace) -> None:
    import httpx

    from app import simulate

    settings = _settings(signature_mode=SignatureMode.OFF)
    account_sid = args.account_sid or settings.twilio_account_sid or ("AC" + "0" * 32)
    token = args.auth_token or (
        settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    )
    if not token:
        fail("no auth token: pass --auth-token or set TWILIO_AUTH_TOKEN")
    options = simulate.Options(account_sid=account_sid, whatsapp=args.whatsapp, media=args.media or [])
    for name, value in (("sender", args.sender), ("recipient", args.recipient), ("body", args.body),
                        ("sid", args.sid), ("status", args.status), ("sequence", args.sequence)):  # fmt: skip
        if value is not None:
            setattr(options, name, value)
    request = simulate.build(args.kind, args.url, token, options)
    try:
        response = httpx.post(request.url, content=request.body, headers=request.headers, timeout=15)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {args.url}: {exc}")
    print(f"{response.status_code} {response.reason_phrase}")
    print(response.text)
    raise SystemExit(0 if response.is_success else 1)


def _phone_number(value: str) -> str:
    number = value.strip()
    if not re.fullmatch(r"\+[1-9]\d{1,14}", number):
        raise argparse.ArgumentTypeError("give the number in E.164, e.g. +15005550006")
    return number


def cmd_numbers(args: argparse.Namespace) -> None:
    from app.action import numbers
    from app.errors import AppError

    settings = _settings(signature_mode=SignatureMode.OFF)  # no webhooks served: the token is for the API
    try:
        lines = asyncio.run(numbers.run_command(settings, args.numbers_command, args.phone_number))
    except DefinitionError as exc:
        fail(f"invalid connector definition:\n{exc}")
    except numbers.NumbersError as exc:
        fail(str(exc))
    except AppError as exc:
        code = exc.extra.get("twilio_code")
        fail(f"{exc.message}" + (f" (Twilio error {code}, HTTP {exc.status_code})" if code else ""))
    except OSError as exc:
        fail(f"cannot reach the database at SWITCHBOARD_DATABASE_URL: {exc}")
    print("\n".join(lines))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service (and, by default, the delivery worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="run no delivery worker in this process")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run the delivery worker only (any number, on PostgreSQL)")
    worker.add_argument(
        "--metrics-port", type=int, help="serve GET /metrics and /healthz on this port (default: none)"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    worker.set_defaults(func=cmd_worker)

    events = commands.add_parser("events", help="stored events")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    prune = events_commands.add_parser(
        "prune", help="delete old events with their deliveries and attempts (never one still pending)"
    )
    prune.add_argument(
        "--older-than-days",
        type=_positive_int(100_000),
        help="events received more than N days ago (default: SWITCHBOARD_RETENTION_DAYS)",
    )
    prune.add_argument(
        "--batch-size",
        # At most 10,000: a batch's ids travel as bound parameters (app/event/retention.py).
        type=_positive_int(10_000),
        default=1000,
        help="events per transaction (default: %(default)s)",
    )
    prune.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    prune.set_defaults(func=cmd_events_prune)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    tokens = commands.add_parser("api-tokens", help="REST API tokens")
    tokens_commands = tokens.add_subparsers(dest="api_tokens_command", required=True)
    create_token = tokens_commands.add_parser(
        "create", help="print a new API token once; store only its hash"
    )
    create_token.add_argument("--name", type=_token_name, default="default", help="to tell tokens apart")
    create_token.set_defaults(func=cmd_api_tokens_create)

    connectors = commands.add_parser("connectors", help="connector definitions")
    connectors_commands = connectors.add_subparsers(dest="connectors_command", required=True)
    check = connectors_commands.add_parser("check", help="validate definitions and print what they declare")
    check.add_argument(
        "path", nargs="?", help="a folder of definitions (default: SWITCHBOARD_CONNECTORS_PATH)"
    )
    check.set_defaults(func=cmd_connectors_check)

    sim = commands.add_parser("simulate", help="send a Twilio-signed webhook shaped like Twilio's")
    sim.add_argument("kind", choices=("message", "call", "message-status", "call-status"))
    sim.add_argument("--url", required=True)
    sim.add_argument("--from", dest="sender")
    sim.add_argument("--to", dest="recipient")
    sim.add_argument("--body")
    sim.add_argument("--sid", help="MessageSid / CallSid (default: a new one)")
    sim.add_argument("--status", help="MessageStatus / CallStatus for status callbacks")
    sim.add_argument("--sequence", type=int, help="SequenceNumber of a call status callback")
    sim.add_argument("--media", action="append", help="a media URL (repeat for several): an MMS")
    sim.add_argument("--whatsapp", action="store_true", help="whatsapp: addresses, ProfileName, WaId")
    sim.add_argument("--account-sid")
    sim.add_argument("--auth-token")
    sim.set_defaults(func=cmd_simulate)

    numbers = commands.add_parser("numbers", help="point a Twilio number's webhooks at Switchboard, and back")
    numbers_commands = numbers.add_subparsers(dest="numbers_command", required=True)
    for name, text in (
        ("connect", "save the number's webhook settings, then set them to SWITCHBOARD_PUBLIC_URL's webhooks"),
        ("disconnect", "restore the settings saved by connect"),
    ):
        command = numbers_commands.add_parser(name, help=text)
        command.add_argument("phone_number", type=_phone_number, help="E.164, e.g. +15005550006")
        command.set_defaults(func=cmd_numbers)
    return root


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
