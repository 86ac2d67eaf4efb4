"""The ``switchboard`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

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
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


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

    from app.main import create_app

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
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        # Forwarded headers are judged by SWITCHBOARD_TRUSTED_PROXIES in the signature check, not by
        # uvicorn, which would otherwise trust them from 127.0.0.1.
        proxy_headers=False,
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )


async def _run_worker(settings: Settings) -> None:
    import signal

    from app import migrate
    from app.db import create_engine
    from app.delivery.worker import DeliveryWorker

    engine = create_engine(settings)
    try:
        current, head = await migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            fail(f"the database schema is at {current}, not {head}: run `switchboard db upgrade` first")
        worker = DeliveryWorker(engine, settings, asyncio.Event())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        await worker.run()
    finally:
        await engine.dispose()


def cmd_worker(args: argparse.Namespace) -> None:
    # The worker serves no webhooks, so it needs no Twilio auth token.
    settings = _settings(signature_mode=SignatureMode.OFF)
    _configure_logging(settings)
    try:
        asyncio.run(_run_worker(settings))
    except OSError as exc:
        fail(f"cannot reach the database at SWITCHBOARD_DATABASE_URL: {exc}")


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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service (and, by default, the delivery worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="run no delivery worker in this process")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run the delivery worker only (any number, on PostgreSQL)")
    worker.set_defaults(func=cmd_worker)

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
    return root


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
