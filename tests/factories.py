"""Rows made directly in the database, for tests that are not about the API that would make them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock, ids
from app.delivery.signing import new_secret
from app.models import deliveries, delivery_attempts, events, subscriptions

# An event's envelope, as forwarded and as the API shows it (contract section 4), in its key order.
ENVELOPE_KEYS = ["id", "type", "connector", "account_sid", "received_at", "signature_valid", "data", "raw"]


async def create_subscription(
    engine: AsyncEngine,
    url: str,
    *,
    events: Sequence[str] = ("messages/message_received",),
    filter: dict[str, Any] | None = None,
    enabled: bool = True,
    secret: str | None = None,
    previous_secret: str | None = None,
    previous_secret_expires_at: datetime | None = None,
) -> dict[str, Any]:
    now = clock.utc_now()
    row = {
        "id": ids.new_id("sub"),
        "url": url,
        "events": list(events),
        "filter": filter,
        "description": None,
        "enabled": enabled,
        "secret": secret or new_secret(),
        "previous_secret": previous_secret,
        "previous_secret_expires_at": previous_secret_expires_at,
        "created_at": now,
        "updated_at": now,
    }
    async with engine.begin() as conn:
        await conn.execute(insert(subscriptions), row)
    return row


async def delivery_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(deliveries).order_by(deliveries.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def attempt_rows(engine: AsyncEngine, delivery_id: str | None = None) -> list[dict[str, Any]]:
    query = select(delivery_attempts).order_by(delivery_attempts.c.delivery_id, delivery_attempts.c.number)
    if delivery_id:
        query = query.where(delivery_attempts.c.delivery_id == delivery_id)
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(query)).all()]


async def create_pending_deliveries(engine: AsyncEngine, subscription_id: str, count: int) -> list[str]:
    """``count`` stored events, each with one delivery due now (as ingest leaves them); their delivery ids."""
    now = clock.utc_now()
    event_rows, rows = [], []
    for _ in range(count):
        event_id = ids.new_id("evt")
        event_rows.append({
            "id": event_id, "type": "messages/message_received", "connector": "twilio", "account_sid": None,
            "dedupe_key": event_id, "received_at": now, "signature_valid": True, "data": {}, "raw": {},
        })  # fmt: skip
        rows.append({
            "id": ids.new_id("dlv"), "event_id": event_id, "subscription_id": subscription_id, "status": "pending",
            "attempt_count": 0, "next_attempt_at": now, "created_at": now, "updated_at": now,
        })  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(insert(events), event_rows)
        await conn.execute(insert(deliveries), rows)
    return [str(row["id"]) for row in rows]
