"""Shared fixtures: every database test runs against SQLite and PostgreSQL, for real.

PostgreSQL comes from ``SWITCHBOARD_TEST_DATABASE_URL`` (e.g. postgresql://postgres@127.0.0.1:5432/test).
Without it the PostgreSQL half is skipped with that reason, except under CI, where its absence fails.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app import migrate
from app.config import Settings
from app.db import create_engine
from app.main import create_app
from tests.receiver import Receiver

pytest_plugins = ["tests.fake_twilio.fixtures"]

PG_ENV = "SWITCHBOARD_TEST_DATABASE_URL"
ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "12345678901234567890123456789012"
SECONDARY_TOKEN = "abcdefabcdefabcdefabcdefabcdefab"
TABLES = (
    "delivery_attempts",
    "deliveries",
    "events",
    "subscriptions",
    "api_tokens",
    "idempotency_keys",
    "number_connections",
)


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") and not os.environ.get(PG_ENV):
        raise pytest.UsageError(
            f"CI is set but {PG_ENV} is not: the PostgreSQL half of the suite would not run"
        )


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    admin = make_url(url).set(drivername="postgresql")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test session's own, migrated once, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    name = f"switchboard_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    engine = create_engine(make_settings(url))
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _truncate(url: str) -> None:
    engine = create_engine(make_settings(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'switchboard.db'}"
        asyncio.run(_migrate(url))
        return url
    url = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "allow_private_callbacks": True,
        "sqlite_synchronous": "NORMAL",  # tests need no power-loss durability; they need speed
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_factory(database_url: str) -> Any:
    return lambda **overrides: make_settings(database_url, **overrides)


class AppHarness:
    """A created app with its lifespan running, and a client that talks to it in-process."""

    def __init__(self, app: Any, base_url: str, client_ip: str):
        self.app = app
        self.runtime = app.app.state.runtime
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(client_ip, 50000)), base_url=base_url
        )


@pytest.fixture
async def harness_factory(database_url: str) -> AsyncIterator[Any]:
    started: list[tuple[AppHarness, Any]] = []

    async def factory(
        base_url: str = "https://hooks.example.com",
        client_ip: str = "203.0.113.7",
        run_worker: bool = False,
        **overrides: Any,
    ) -> AppHarness:
        app = create_app(make_settings(database_url, **overrides), run_worker=run_worker)
        lifespan = app.app.router.lifespan_context(app.app)
        await lifespan.__aenter__()
        harness = AppHarness(app, base_url, client_ip)
        started.append((harness, lifespan))
        return harness

    yield factory
    for harness, lifespan in reversed(started):
        await harness.client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def harness(harness_factory: Any) -> AppHarness:
    result: AppHarness = await harness_factory()
    return result


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own view of the database, for setting up and for checking afterwards."""
    engine = create_engine(make_settings(database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A local callback server that records every request it gets."""
    server = await Receiver().start()
    yield server
    await server.stop()
