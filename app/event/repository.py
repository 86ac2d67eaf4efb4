"""SQL for events. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.bulk import BulkInsert
from app.event.envelope import COLUMNS, Event
from app.models import events

_INSERT_NEW = BulkInsert(events, COLUMNS, conflict_keys=["type", "dedupe_key"], returning="id")


def insert_new(conn: Connection, batch: Sequence[Event]) -> set[str]:
    """Insert the events not already stored (by type + dedupe key); return the ids actually inserted.

    Sync: it runs inside the ingest writer's batch transaction (see app/event/writer.py).
    """
    return set(_INSERT_NEW.execute(conn, [event.values() for event in batch]))


async def get(conn: AsyncConnection, event_id: str) -> Event | None:
    row = (await conn.execute(select(events).where(events.c.id == event_id))).first()
    return Event.from_row(row) if row else None


async def find_by_dedupe_key(conn: AsyncConnection, event_type: str, key: str) -> Event | None:
    statement = select(events).where(events.c.type == event_type, events.c.dedupe_key == key)
    row = (await conn.execute(statement)).first()
    return Event.from_row(row) if row else None


async def list_before(
    conn: AsyncConnection, before: str | None, limit: int, *, event_type: str | None = None
) -> list[Event]:
    """Up to ``limit`` events with ids below ``before`` (all if None), newest first, of one type if given."""
    statement = select(events).order_by(events.c.id.desc()).limit(limit)
    if before is not None:
        statement = statement.where(events.c.id < before)
    if event_type is not None:
        statement = statement.where(events.c.type == event_type)
    return [Event.from_row(row) for row in (await conn.execute(statement)).all()]
