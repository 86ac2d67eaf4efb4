"""The request transaction: committed before the response starts; 503 when the database is away."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.main import create_app
from tests.api.conftest import AUTH, CALLBACK
from tests.conftest import AppHarness, make_settings


async def _committed_subscriptions(database_url: str) -> int:
    """Counted on a connection of its own, which sees only committed rows and never waits for a lock."""
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        assert path is not None
        with sqlite3.connect(path) as conn:  # WAL: a reader neither blocks nor sees uncommitted writes
            return int(conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0])
    conn = await asyncpg.connect(make_url(database_url).render_as_string(hide_password=False))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM subscriptions"))
    finally:
        await conn.close()


async def test_the_row_is_committed_before_the_response_starts(api: AppHarness, database_url: str) -> None:
    seen_at_response_start: list[int] = []

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        async def watching_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen_at_response_start.append(await _committed_subscriptions(database_url))
            await send(message)

        await api.app(scope, receive, watching_send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=AUTH) as client:
        body = {"events": ["messages/message_received"], "url": CALLBACK}
        response = await client.post("/api/v1/subscriptions", json=body)

    assert response.status_code == 201
    assert seen_at_response_start == [1]


async def test_an_unreachable_database_is_503() -> None:
    # Port 1 refuses at once; asyncpg fails in the event loop, leaving no driver thread behind.
    app = create_app(make_settings("postgresql://postgres@127.0.0.1:1/switchboard", api_token="t"))
    async with app.app.router.lifespan_context(app.app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/v1/subscriptions", headers={"Authorization": "Bearer t"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
