"""Fixtures for the action tests: the app pointed at the fake Twilio, with a bearer token.

The shared PostgreSQL database is emptied per test by ``tests/conftest.py`` for the tables it knows;
this module also empties the two tables the actions add.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import delete

from app.connector.loader import default_connectors_dir, load_dir
from app.connector.schema import ConnectorDef
from app.db import create_engine
from app.models import idempotency_keys, number_connections
from tests.conftest import AppHarness, make_settings
from tests.fake_twilio import FakeTwilio

TOKEN = "action-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PUBLIC_URL = "https://hooks.example.com"
VALID = "+15005550006"  # passes every magic-number check of Twilio's test credentials

ApiFactory = Callable[..., Awaitable[AppHarness]]


def twilio_definition() -> ConnectorDef:
    return next(c for c in load_dir(default_connectors_dir()).values() if c.handle == "twilio")


async def empty_action_tables(database_url: str) -> None:
    engine = create_engine(make_settings(database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(idempotency_keys))
            await conn.execute(delete(number_connections))
    finally:
        await engine.dispose()


@pytest.fixture
async def api_factory(harness_factory: Any, fake_twilio: FakeTwilio, database_url: str) -> ApiFactory:
    """Make an app that calls the fake Twilio and accepts TOKEN; its client sends TOKEN."""
    await empty_action_tables(database_url)

    async def factory(**overrides: Any) -> AppHarness:
        settings: dict[str, Any] = {
            "api_token": TOKEN,
            "twilio_api_base_url": fake_twilio.base_url,
            "twilio_account_sid": fake_twilio.account_sid,
            "twilio_auth_token": fake_twilio.auth_token,
            **overrides,
        }
        harness: AppHarness = await harness_factory(**settings)
        harness.client.headers.update(AUTH)
        return harness

    return factory


@pytest.fixture
async def api(api_factory: ApiFactory) -> AppHarness:
    return await api_factory()
