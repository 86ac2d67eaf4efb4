"""SQL for the delivery outbox. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import ids
from app.models import deliveries

NOTIFY_CHANNEL = "switchboard_deliveries"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


async def insert_pending(conn: AsyncConnection, pairs: Sequence[tuple[str, str]], now: datetime) -> list[str]:
    """One pending delivery per (event id, subscription id), due now; returns their ids."""
    rows: list[dict[str, object]] = [
        {
            "id": ids.new_id("dlv"),
            "event_id": event_id,
            "subscription_id": subscription_id,
            "status": DeliveryStatus.PENDING,
            "attempt_count": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for event_id, subscription_id in pairs
    ]
    if rows:
        await conn.execute(insert(deliveries), rows)
        await notify(conn)
    return [str(row["id"]) for row in rows]


async def notify(conn: AsyncConnection) -> None:
    """Wake workers in other processes (PostgreSQL delivers the notification at commit)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
