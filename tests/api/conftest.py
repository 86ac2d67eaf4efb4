"""Fixtures for the REST API tests: an app that accepts ``test-token``, and rows made directly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock, ids, simulate
from app.models import deliveries, delivery_attempts, metadata
from tests.conftest import ACCOUNT_SID, AppHarness
from tests.twilio_requests import post_signed

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MESSAGES = "/webhooks/twilio/messages"
CALLBACK = "https://automations.example.com/hook"


@pytest.fixture
async def api(harness_factory: Any) -> AppHarness:
    """The app with SWITCHBOARD_API_TOKEN=test-token; its client sends that token."""
    harness: AppHarness = await harness_factory(api_token=TOKEN)
    harness.client.headers.update(AUTH)
    return harness


async def create_subscription(api: AppHarness, **fields: Any) -> dict[str, Any]:
    body = {"events": ["messages/message_received"], "url": CALLBACK, **fields}
    response = await api.client.post("/api/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def receive_sms(api: AppHarness, body: str = "Hello") -> str:
    """Post a signed inbound SMS webhook; return the stored event's id."""
    params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body=body))
    response = await post_signed(api.client, MESSAGES, params)
    assert response.status_code == 200, response.text
    page = await api.client.get("/api/v1/events", params={"limit": 1})
    event_id: str = page.json()["items"][0]["id"]
    assert page.json()["items"][0]["raw"]["MessageSid"] == params["MessageSid"]
    return event_id


async def insert_delivery(
    engine: AsyncEngine,
    event_id: str,
    subscription_id: str,
    *,
    status: str = "failed",
    attempt_count: int = 0,
    locked_until: datetime | None = None,
    attempts: int = 0,
) -> str:
    """A delivery row (and ``attempts`` attempt rows, numbered from 1) as the worker would leave it."""
    now = clock.utc_now()
    delivery_id = ids.new_id("dlv")
    async with engine.begin() as conn:
        await conn.execute(
            insert(deliveries).values(
                id=delivery_id,
                event_id=event_id,
                subscription_id=subscription_id,
                status=status,
                attempt_count=attempt_count,
                next_attempt_at=now,
                locked_until=locked_until,
                locked_by="worker-1" if locked_until else None,
                last_attempt_at=now if attempts else None,
                last_status_code=500 if attempts else None,
                last_error="HTTP 500" if attempts else None,
                created_at=now,
                updated_at=now,
            )
        )
        if attempts:
            await conn.execute(
                insert(delivery_attempts),
                [
                    {
                        "id": ids.new_id("att"),
                        "delivery_id": delivery_id,
                        "number": number,
                        "attempted_at": now,
                        "status_code": 500,
                        "duration_ms": 10 * number,
                        "error": "HTTP 500",
                        "response_excerpt": f"oops {number}",
                    }
                    # Inserted out of order: the API must order them by number.
                    for number in reversed(range(1, attempts + 1))
                ],
            )
    return delivery_id


async def delivery_row(engine: AsyncEngine, delivery_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()
    return dict(row._mapping)


async def snapshot(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, to show that a request changed nothing."""
    tables: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = (await conn.execute(select(table).order_by(*table.primary_key.columns))).all()
            tables[table.name] = [dict(row._mapping) for row in rows]
    return tables


async def collect_pages(api: AppHarness, path: str, limit: int, **params: Any) -> list[list[str]]:
    """The ids on each page of a list, following next_cursor to the end."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"
