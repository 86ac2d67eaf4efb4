"""Retention: deleting events older than a cutoff, with their deliveries and attempts, batch by batch.

An event that still has a pending delivery is never deleted, however old: its delivery is owed.
Deliveries and attempts go with their event through ``ON DELETE CASCADE`` (SQLite enforces it
because ``app/db.py`` turns ``foreign_keys`` on for every connection).

Each batch is its own short transaction, and the loop pauses between batches, so ingestion never
waits long: on SQLite a batch holds the single write lock for a few milliseconds; on PostgreSQL it
locks only the rows it deletes (``SKIP LOCKED``: never waits on them either).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import metrics
from app.delivery.repository import DeliveryStatus
from app.models import deliveries, delivery_attempts, events

# A batch's ids travel as bound parameters: `switchboard events prune` caps --batch-size at 10,000,
# well inside both databases' limits.
DEFAULT_BATCH_SIZE = 1000
PAUSE_SECONDS = 0.005  # between batches: lets the ingest writer take the (SQLite) write lock


@dataclass
class Counts:
    events: int = 0
    deliveries: int = 0
    attempts: int = 0

    def add(self, other: Counts) -> None:
        self.events += other.events
        self.deliveries += other.deliveries
        self.attempts += other.attempts


@dataclass(frozen=True)
class Census:
    """What a prune would do now: the events (with deliveries, attempts) it would delete, and those it
    keeps because they still have a pending delivery."""

    prunable: Counts
    kept_pending: int


def _has_pending() -> Any:
    return exists().where(deliveries.c.event_id == events.c.id, deliveries.c.status == DeliveryStatus.PENDING)


def _prunable(cutoff: datetime) -> Any:
    return (events.c.received_at < cutoff) & ~_has_pending()


async def _dependents(conn: AsyncConnection, event_ids: Any) -> tuple[int, int]:
    """Deliveries and attempts of the events ``event_ids`` (a list or a subquery) selects."""
    delivery_count = await conn.scalar(
        select(func.count()).select_from(deliveries).where(deliveries.c.event_id.in_(event_ids))
    )
    attempt_count = await conn.scalar(
        select(func.count())
        .select_from(delivery_attempts.join(deliveries, deliveries.c.id == delivery_attempts.c.delivery_id))
        .where(deliveries.c.event_id.in_(event_ids))
    )
    return int(delivery_count or 0), int(attempt_count or 0)


async def census(conn: AsyncConnection, cutoff: datetime) -> Census:
    prunable_events = await conn.scalar(select(func.count()).select_from(events).where(_prunable(cutoff)))
    kept = await conn.scalar(
        select(func.count()).select_from(events).where(events.c.received_at < cutoff, _has_pending())
    )
    delivery_count, attempt_count = await _dependents(conn, select(events.c.id).where(_prunable(cutoff)))
    return Census(Counts(int(prunable_events or 0), delivery_count, attempt_count), int(kept or 0))


async def delete_batch(conn: AsyncConnection, cutoff: datetime, limit: int) -> Counts | None:
    """Delete up to ``limit`` of the oldest prunable events; None when there are none left.

    Two statements, on purpose. The first picks the events and locks them (on PostgreSQL), which
    keeps new deliveries of them out (a delivery's foreign key must lock its event). The second
    deletes only those still without a pending delivery, judged afresh: a retry that made one of
    their deliveries pending again after the first statement is seen and the event kept.
    """
    chosen = select(events.c.id).where(_prunable(cutoff)).order_by(events.c.received_at).limit(limit)
    if conn.dialect.name == "postgresql":
        chosen = chosen.with_for_update(of=events, skip_locked=True)
    ids = list((await conn.execute(chosen)).scalars())
    if not ids:
        return None
    delivery_count, attempt_count = await _dependents(conn, ids)
    deleted = await conn.execute(
        delete(events).where(events.c.id.in_(ids), ~_has_pending()).returning(events.c.id)
    )
    return Counts(len(deleted.all()), delivery_count, attempt_count)


async def prune(
    engine: AsyncEngine,
    cutoff: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    on_batch: Callable[[Counts], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    pause: float = PAUSE_SECONDS,
) -> Counts:
    """Delete every prunable event received before ``cutoff``, one short transaction per batch."""
    total = Counts()
    while not should_stop():
        async with engine.begin() as conn:
            batch = await delete_batch(conn, cutoff, batch_size)
        if batch is None:
            break
        total.add(batch)
        metrics.EVENTS_PRUNED.inc(batch.events)
        if on_batch is not None:
            on_batch(batch)
        await asyncio.sleep(pause)
    return total
