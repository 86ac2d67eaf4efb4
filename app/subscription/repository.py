"""SQL for subscriptions. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import driver_execute, on_stdlib_sqlite
from app.jsonenc import loads
from app.models import subscriptions


class MatchRow(NamedTuple):
    id: str
    events: list[str]
    filter: dict[str, Any] | None
    updated_at: Any  # as the store returns it: only compared, to notice a change


# Built once: every ingest batch runs it, and building the statement cost more than running it.
_ENABLED_FOR_MATCHING = select(
    subscriptions.c.id, subscriptions.c.events, subscriptions.c.filter, subscriptions.c.updated_at
).where(subscriptions.c.enabled.is_(True))
_ENABLED_FOR_MATCHING_SQLITE = str(
    _ENABLED_FOR_MATCHING.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
)


def enabled_for_matching(conn: Connection) -> list[MatchRow]:
    """Sync: it runs inside the ingest writer's batch (from async code: ``await conn.run_sync(...)``).

    On the writer thread's SQLite connection the query goes to the driver (``driver_execute``): through
    SQLAlchemy it cost ten times what it does there, once per batch.
    """
    if on_stdlib_sqlite(conn):
        return [
            MatchRow(id_, loads(events), loads(filter_) if filter_ is not None else None, updated_at)
            for id_, events, filter_, updated_at in driver_execute(conn, _ENABLED_FOR_MATCHING_SQLITE)
        ]
    return [MatchRow(*row) for row in conn.execute(_ENABLED_FOR_MATCHING)]


async def insert_one(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    return (await conn.execute(insert(subscriptions).values(values).returning(*subscriptions.c))).one()


async def get(conn: AsyncConnection, subscription_id: str, *, for_update: bool = False) -> Any | None:
    """The row, or None. ``for_update`` locks it until the transaction ends (PostgreSQL; SQLite's
    transactions are serialised already), for read-modify-write updates."""
    statement = select(subscriptions).where(subscriptions.c.id == subscription_id)
    if for_update:
        statement = statement.with_for_update()
    return (await conn.execute(statement)).first()


async def list_before(conn: AsyncConnection, before: str | None, limit: int) -> Sequence[Any]:
    """Up to ``limit`` rows with ids below ``before`` (all if None), newest first."""
    statement = select(subscriptions).order_by(subscriptions.c.id.desc()).limit(limit)
    if before is not None:
        statement = statement.where(subscriptions.c.id < before)
    return (await conn.execute(statement)).all()


async def update_one(conn: AsyncConnection, subscription_id: str, values: dict[str, Any]) -> Any:
    statement = (
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id)
        .values(values)
        .returning(*subscriptions.c)
    )
    return (await conn.execute(statement)).one()


async def delete_one(conn: AsyncConnection, subscription_id: str) -> None:
    await conn.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))
