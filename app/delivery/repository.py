"""SQL for the delivery outbox. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app import ids
from app.bulk import BulkInsert
from app.models import deliveries, delivery_attempts

NOTIFY_CHANNEL = "switchboard_deliveries"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_INSERT_PENDING = BulkInsert(
    deliveries,
    [
        "id",
        "event_id",
        "subscription_id",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
        "updated_at",
    ],
)


def insert_pending(conn: Connection, pairs: Sequence[tuple[str, str]], now: datetime) -> list[str]:
    """One pending delivery per (event id, subscription id), due now; returns their ids.

    Sync: it runs inside the ingest writer's batch (from async code: ``await conn.run_sync(...)``).
    """
    pending = DeliveryStatus.PENDING.value
    rows = [
        (ids.new_id("dlv"), event_id, subscription_id, pending, 0, now, now, now)
        for event_id, subscription_id in pairs
    ]
    if rows:
        _INSERT_PENDING.execute(conn, rows)
        notify(conn)
    return [row[0] for row in rows]


def notify(conn: Connection) -> None:
    """Wake workers in other processes (PostgreSQL delivers the notification at commit)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


async def get(conn: AsyncConnection, delivery_id: str) -> Any | None:
    return (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).first()


async def attempts_of(conn: AsyncConnection, delivery_id: str) -> Sequence[Any]:
    statement = (
        select(delivery_attempts)
        .where(delivery_attempts.c.delivery_id == delivery_id)
        .order_by(delivery_attempts.c.number)
    )
    return (await conn.execute(statement)).all()


async def list_before(
    conn: AsyncConnection,
    before: str | None,
    limit: int,
    *,
    subscription_id: str | None = None,
    event_id: str | None = None,
    status: DeliveryStatus | None = None,
) -> Sequence[Any]:
    """Up to ``limit`` deliveries with ids below ``before`` (all if None), newest first, filtered."""
    statement = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if before is not None:
        statement = statement.where(deliveries.c.id < before)
    if subscription_id is not None:
        statement = statement.where(deliveries.c.subscription_id == subscription_id)
    if event_id is not None:
        statement = statement.where(deliveries.c.event_id == event_id)
    if status is not None:
        statement = statement.where(deliveries.c.status == status)
    return (await conn.execute(statement)).all()


async def retry_now(conn: AsyncConnection, delivery_id: str, now: datetime) -> Any | None:
    """Make a delivery due now with a fresh retry schedule; None unless it is failed, or pending and
    not held by a worker (a held one is being attempted right now: retrying it would send it twice).

    ``schedule_start`` = ``attempt_count`` restarts the schedule while attempt numbers keep counting.
    """
    not_held = or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until < now)
    retryable = or_(
        deliveries.c.status == DeliveryStatus.FAILED,
        (deliveries.c.status == DeliveryStatus.PENDING) & not_held,
    )
    statement = (
        update(deliveries)
        .where(deliveries.c.id == delivery_id, retryable)
        .values(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            locked_until=None,
            locked_by=None,
            schedule_start=deliveries.c.attempt_count,
            updated_at=now,
        )
        .returning(*deliveries.c)
    )
    return (await conn.execute(statement)).first()
