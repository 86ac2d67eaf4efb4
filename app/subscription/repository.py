"""SQL for subscriptions. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import subscriptions

# Built once: every ingest batch runs it, and building the statement cost more than running it.
_ENABLED_FOR_MATCHING = select(
    subscriptions.c.id, subscriptions.c.events, subscriptions.c.filter, subscriptions.c.updated_at
).where(subscriptions.c.enabled.is_(True))


def enabled_for_matching(conn: Connection) -> Sequence[Any]:
    """Sync: it runs inside the ingest writer's batch (from async code: ``await conn.run_sync(...)``)."""
    return conn.execute(_ENABLED_FOR_MATCHING).all()


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
