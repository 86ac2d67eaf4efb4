"""app/event/writer.py: concurrent events share one transaction, and one bad event fails alone."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock, ids
from app.db import Transactor, create_engine
from app.errors import ServiceUnavailable
from app.event.envelope import Event
from app.event.writer import EventWriter
from app.models import deliveries, events
from tests.conftest import make_settings


@pytest.fixture
async def writer(database_url: str) -> AsyncIterator[EventWriter]:
    settings = make_settings(database_url)
    engine = create_engine(settings)
    transactor = Transactor(engine, settings)
    writer = EventWriter(transactor)
    writer.start()
    yield writer
    await writer.stop()
    transactor.close()
    await engine.dispose()


def _event(sid: str, **changes: Any) -> Event:
    event = Event(
        id=ids.new_id("evt"),
        type="messages/message_received",
        connector="twilio",
        account_sid="AC" + "0" * 32,
        dedupe_key=sid,
        received_at=clock.utc_now(),
        signature_valid=True,
        data={"message_sid": sid},
        raw={"MessageSid": sid},
    )
    return dataclasses.replace(event, **changes)


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_concurrent_events_are_stored_once_each(writer: EventWriter, engine: AsyncEngine) -> None:
    batch = [_event(f"SM{i:032x}") for i in range(40)] + [_event(f"SM{0:032x}")]  # one retry
    results = await asyncio.gather(*(writer.store(event) for event in batch))
    assert [r.created for r in results].count(True) == 40
    assert await _count(engine, events) == 40


async def test_an_event_the_database_refuses_fails_alone(writer: EventWriter, engine: AsyncEngine) -> None:
    # NULL in a NOT NULL column: the store refuses the row (an IntegrityError on both stores), so the
    # batch is retried event by event and only the refused one is answered 503.
    good = [_event(f"SM{i:032x}") for i in range(5)]
    refused = _event("SM" + "f" * 32, dedupe_key=None)
    results = await asyncio.gather(
        *(writer.store(event) for event in [*good[:2], refused, *good[2:]]), return_exceptions=True
    )
    assert isinstance(results[2], ServiceUnavailable)
    assert all(not isinstance(r, Exception) and r.created for i, r in enumerate(results) if i != 2)
    assert await _count(engine, events) == 5
    assert await _count(engine, deliveries) == 0  # no subscriptions: nothing to deliver


async def test_a_batch_with_some_events_already_stored_creates_only_the_new_ones(
    writer: EventWriter, engine: AsyncEngine
) -> None:
    await writer.store(_event("SM" + "1" * 32))
    retry, *fresh = [_event("SM" + "1" * 32), _event("SM" + "2" * 32), _event("SM" + "3" * 32)]
    results = await asyncio.gather(*(writer.store(event) for event in [retry, *fresh]))
    assert [r.created for r in results] == [False, True, True]
    assert [r.event_id for r in results[1:]] == [event.id for event in fresh]
    assert await _count(engine, events) == 3
