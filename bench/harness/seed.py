"""Rows as ingestion would have left them: a subscription, events and their deliveries, inserted in bulk.

The events are built the way the service builds them (the Twilio definition's field mapping and dedupe
key, ``Event.row()``), so stored row sizes and forwarded envelopes are the real ones. Rows are made in
worker processes while the parent inserts: SQLite through the stdlib driver's ``executemany``, PostgreSQL
through the service's own engine and tables.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from app import clock, ids, jsonenc
from app.connector.loader import default_connectors_dir
from app.connector.mapping import dedupe_key, map_fields
from app.connector.registry import Registry, Webhook
from app.connector.schema import FieldDef
from app.delivery.signing import new_secret
from app.event.envelope import Event
from harness import stores
from harness.twilio_requests import WEBHOOK_PATH, SidSet, message_params

EVENT_TYPE = "messages/message_received"
BATCH = 20_000
Row = dict[str, Any]


@dataclass(frozen=True)
class _Mapping:
    webhook: Webhook
    template: dict[str, Any]  # the mapped fields of request 0
    varying: list[FieldDef]  # the fields that select a parameter differing between requests


@cache
def _mapping() -> _Mapping:
    """The definition's mapping, split so each row maps only what differs from request 0 (same result)."""
    webhook = Registry.from_dir(default_connectors_dir()).webhooks[WEBHOOK_PATH]
    first, second = message_params(SidSet.STORED, 0), message_params(SidSet.STORED, 1)
    differing = {key for key in first if first[key] != second[key]}
    fields = webhook.definition.payload
    varying = [f for f in fields if not f.selector or f.selector[0] in differing]
    return _Mapping(webhook, map_fields(first, fields), varying)


def event(i: int, received_at: datetime, sid_set: SidSet = SidSet.STORED) -> Event:
    """The event ingestion stores for the i-th request of ``sid_set``."""
    params = message_params(sid_set, i)
    mapping = _mapping()
    webhook = mapping.webhook
    return Event(
        id=ids.new_id("evt"),
        type=webhook.event_type,
        connector=webhook.connector.handle,
        account_sid=params["AccountSid"],
        dedupe_key=dedupe_key(params, webhook.definition.dedupe_key),
        received_at=received_at,
        signature_valid=True,
        data={**mapping.template, **map_fields(params, mapping.varying)},
        raw=dict(params),
    )


def subscription_row(url: str) -> Row:
    now = clock.utc_now()
    return {
        "id": ids.new_id("sub"),
        "url": url,
        "events": [EVENT_TYPE],
        "filter": None,
        "description": "bench",
        "enabled": True,
        "secret": new_secret(),
        "previous_secret": None,
        "previous_secret_expires_at": None,
        "created_at": now,
        "updated_at": now,
    }


def delivery_row(event: Event, subscription_id: str, *, delivered: bool) -> Row:
    """A pending delivery due now, or one that succeeded at its first attempt a second after the event."""
    row: Row = {
        "id": ids.new_id("dlv"),
        "event_id": event.id,
        "subscription_id": subscription_id,
        "status": "pending",
        "attempt_count": 0,
        "last_attempt_at": None,
        "last_status_code": None,
        "next_attempt_at": clock.utc_now(),
        "created_at": event.received_at,
        "updated_at": event.received_at,
    }
    if delivered:
        done = event.received_at + timedelta(seconds=1)
        row |= {"status": "succeeded", "attempt_count": 1, "last_attempt_at": done, "last_status_code": 204}
        row |= {"next_attempt_at": done, "updated_at": done}
    return row


@dataclass(frozen=True)
class Batch:
    events: list[Row]
    deliveries: list[Row]
    last_event_id: str


@dataclass(frozen=True)
class Plan:
    """``count`` events received evenly over ``span`` up to ``end``, one delivery each to a subscription."""

    count: int
    subscription_id: str
    delivered: bool
    end: datetime
    span: timedelta


def make_batch(plan: Plan, first: int, stop: int) -> Batch:
    start, step = plan.end - plan.span, plan.span / max(plan.count, 1)
    made = [event(i, start + step * i) for i in range(first, stop)]
    return Batch(
        events=[e.row() for e in made],
        deliveries=[delivery_row(e, plan.subscription_id, delivered=plan.delivered) for e in made],
        last_event_id=made[-1].id,
    )


def _made_in_parallel(plan: Plan) -> Iterator[Batch]:
    """The plan's batches in order, made by worker processes a few batches ahead of the consumer."""
    ranges = iter([(first, min(first + BATCH, plan.count)) for first in range(0, plan.count, BATCH)])
    workers = max(1, (os.cpu_count() or 2) - 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        ahead = deque(pool.submit(make_batch, plan, *r) for r in itertools.islice(ranges, workers * 2))
        while ahead:
            batch = ahead.popleft().result()
            following = next(ranges, None)
            if following is not None:
                ahead.append(pool.submit(make_batch, plan, *following))
            yield batch


def fill(
    database_url: str, subscription_url: str, count: int, *, delivered: bool, span: timedelta
) -> list[str]:
    """A subscription and ``count`` events with one delivery each; returns each batch's last event id."""
    if database_url.startswith("sqlite"):
        return seed_sqlite(
            stores.sqlite_path(database_url), subscription_url, count, delivered=delivered, span=span
        )
    return seed_postgres(database_url, subscription_url, count, delivered=delivered, span=span)


# --- SQLite -------------------------------------------------------------------------------------


def _naive_utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _unchanged(value: Any) -> Any:
    return value


def _sqlite_converter(value: Any) -> Callable[[Any], Any]:
    """How SQLAlchemy stores a value of this kind on SQLite: naive-UTC text, 0/1, compact JSON text."""
    if isinstance(value, datetime):
        return _naive_utc_text
    if isinstance(value, bool):
        return int
    if isinstance(value, dict | list):
        return jsonenc.dumps
    return _unchanged


def _sqlite_insert(db: sqlite3.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    first = rows[0]
    columns = [c for c in first if first[c] is not None]
    convert = [(c, _sqlite_converter(first[c])) for c in columns]
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    db.executemany(statement, ([f(row[c]) for c, f in convert] for row in rows))


def seed_sqlite(
    path: Path, subscription_url: str, count: int, *, delivered: bool, span: timedelta
) -> list[str]:
    """Durability is off while filling (a crash would only lose the bench's own data); the WAL is then
    checkpointed so that the service starts on a plain database file.
    """
    subscription = subscription_row(subscription_url)
    plan = Plan(count, subscription["id"], delivered, clock.utc_now(), span)
    marks = []
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")  # 256 MiB while filling
        _sqlite_insert(db, "subscriptions", [subscription])
        for batch in _made_in_parallel(plan):
            db.execute("BEGIN")
            _sqlite_insert(db, "events", batch.events)
            _sqlite_insert(db, "deliveries", batch.deliveries)
            db.execute("COMMIT")
            marks.append(batch.last_event_id)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return marks


# --- PostgreSQL ---------------------------------------------------------------------------------


def seed_postgres(
    database_url: str, subscription_url: str, count: int, *, delivered: bool, span: timedelta
) -> list[str]:
    return asyncio.run(_seed_postgres(database_url, subscription_url, count, delivered, span))


async def _seed_postgres(
    database_url: str, subscription_url: str, count: int, delivered: bool, span: timedelta
) -> list[str]:
    from sqlalchemy import insert

    from app.config import SignatureMode, load_settings
    from app.db import create_engine
    from app.models import deliveries, events, subscriptions

    settings = load_settings(database_url=database_url, signature_mode=SignatureMode.OFF)
    engine = create_engine(settings)
    subscription = subscription_row(subscription_url)
    plan = Plan(count, subscription["id"], delivered, clock.utc_now(), span)
    marks = []
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(subscriptions), subscription)
        for batch in _made_in_parallel(plan):
            async with engine.begin() as conn:
                await conn.execute(insert(events), batch.events)
                await conn.execute(insert(deliveries), batch.deliveries)
            marks.append(batch.last_event_id)
    finally:
        await engine.dispose()
    return marks
