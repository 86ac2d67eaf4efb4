"""Request dependencies: the request's database transaction and the running process's parts.

The transaction dependency is declared with ``scope="function"`` so that it commits when the route
function returns, *before* the response is sent: a 201 means the row is durable. (FastAPI's default
scope would commit after the response, when a failed commit can no longer change the answer.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.config import Settings
from app.connector.registry import Registry
from app.errors import ServiceUnavailable
from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def get_registry(request: Request) -> Registry:
    return get_runtime(request).registry


async def _begin(engine: AsyncEngine) -> AsyncConnection:
    """A connection with its transaction begun; ServiceUnavailable when the database cannot be reached."""
    conn: AsyncConnection | None = None
    try:
        conn = await engine.connect()
        await conn.begin()
    except (OSError, DBAPIError) as exc:
        if conn is not None:
            await conn.close()
        raise ServiceUnavailable("the database is unavailable; try again shortly") from exc
    return conn


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Commit if the block completes, roll back if it raises."""
    conn = await _begin(engine)
    try:
        yield conn
        await conn.commit()
    finally:
        # Closing rolls back whatever was not committed.
        await conn.close()


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    """The request's transaction: committed when the route returns, rolled back if it raises."""
    async with transaction(get_runtime(request).engine) as conn:
        yield conn


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
# One alias so every use shares a cache key: the route and its sub-dependencies get the same connection.
Conn = Annotated[AsyncConnection, Depends(get_conn, scope="function")]
