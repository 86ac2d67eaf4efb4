"""app/bulk.py writes exactly what SQLAlchemy Core would, on both stores, in bounded statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, DateTime, and_, bindparam, insert, null, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock, ids
from app.bulk import BulkInsert, BulkUpdate
from app.models import deliveries, events
from app.models.base import UTCDateTime
from tests.factories import create_subscription

EVENT_COLUMNS = [c.name for c in events.c]


def _event_row(n: int) -> dict[str, object]:
    return {
        "id": ids.new_id("evt"),
        "type": "messages/message_received",
        "connector": "twilio",
        "account_sid": None,
        "dedupe_key": f"SM{n:032d}",
        "received_at": clock.utc_now() - timedelta(microseconds=n),
        "signature_valid": True,
        "data": {"body": f"héllo ✓ {n}", "media": [], "none": None},
        "raw": {"Body": f"héllo ✓ {n}", "MediaUrl": ["a", "b"]},
    }


async def test_a_bulk_insert_stores_what_core_stores(engine: AsyncEngine) -> None:
    by_core = _event_row(1)
    by_bulk = by_core | {"id": ids.new_id("evt"), "type": "calls/call_received"}
    bulk = BulkInsert(events, EVENT_COLUMNS)
    async with engine.begin() as conn:
        await conn.execute(insert(events), [by_core])
        await conn.run_sync(bulk.execute, [tuple(by_bulk[c] for c in EVENT_COLUMNS)])
    async with engine.connect() as conn:
        # As the driver hands them back (SQLite: the very text stored), and as the models read them.
        stored = await conn.exec_driver_sql(
            "SELECT connector, account_sid, dedupe_key, received_at, signature_valid, data, raw "
            "FROM events ORDER BY type DESC"
        )
        [core_row, bulk_row] = stored.all()
        read = {row.id: row._asdict() for row in await conn.execute(select(events))}
    assert bulk_row == core_row
    assert read[by_bulk["id"]] == by_bulk


async def test_conflicting_rows_are_skipped_and_only_inserted_ids_returned(engine: AsyncEngine) -> None:
    bulk = BulkInsert(events, EVENT_COLUMNS, conflict_keys=["type", "dedupe_key"], returning="id")
    first = [_event_row(n) for n in range(300)]
    again = [row | {"id": ids.new_id("evt")} for row in first] + [_event_row(n) for n in range(300, 305)]

    def insert_rows(conn: Connection, rows: list[dict[str, object]]) -> list[str]:
        return bulk.execute(conn, [tuple(row[c] for c in EVENT_COLUMNS) for row in rows])

    async with engine.begin() as conn:
        inserted = await conn.run_sync(insert_rows, first)
        inserted_again = await conn.run_sync(insert_rows, again)
    assert sorted(inserted) == sorted(str(row["id"]) for row in first)
    assert sorted(inserted_again) == sorted(str(row["id"]) for row in again[300:])


async def test_rows_go_in_power_of_two_statements_so_compiled_forms_stay_few(engine: AsyncEngine) -> None:
    bulk = BulkInsert(events, EVENT_COLUMNS)
    rows = [tuple(_event_row(n)[c] for c in EVENT_COLUMNS) for n in range(37)]
    async with engine.begin() as conn:
        await conn.run_sync(bulk.execute, rows)
    assert sorted(count for _, count in bulk._compiled) == [1, 4, 32]
    async with engine.connect() as conn:
        assert len((await conn.execute(select(events.c.id))).all()) == 37


async def test_a_bulk_update_changes_only_the_rows_its_condition_holds_for(engine: AsyncEngine) -> None:
    subscription = await create_subscription(engine, "https://example.com/hook")
    event, now = _event_row(1), clock.utc_now()
    delivery_ids = [ids.new_id("dlv") for _ in range(3)]
    async with engine.begin() as conn:
        await conn.execute(insert(events), [event])
        await conn.execute(
            insert(deliveries),
            [
                {
                    "id": delivery_id,
                    "event_id": event["id"],
                    "subscription_id": subscription["id"],
                    "status": "pending",
                    "attempt_count": 0,
                    "next_attempt_at": now,
                    "locked_by": "worker-a",
                    "locked_until": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for delivery_id in delivery_ids
            ],
        )
    update = BulkUpdate(
        deliveries,
        params=[("b_id", "id"), ("b_worker", "locked_by"), ("b_next", "next_attempt_at")],
        values={"next_attempt_at": "b_next", "locked_by": null()},
        where=lambda: and_(
            deliveries.c.id == bindparam("b_id"), deliveries.c.locked_by == bindparam("b_worker")
        ),
    )
    later = now + timedelta(hours=1)
    async with engine.begin() as conn:
        rows = [(delivery_ids[0], "worker-a", later), (delivery_ids[1], "worker-b", later)]
        await conn.run_sync(update.execute, rows)
    async with engine.connect() as conn:
        stored = {r.id: r for r in await conn.execute(select(deliveries))}
    assert (stored[delivery_ids[0]].next_attempt_at, stored[delivery_ids[0]].locked_by) == (later, None)
    for untouched in delivery_ids[1:]:
        assert (stored[untouched].next_attempt_at, stored[untouched].locked_by) == (now, "worker-a")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 4, 5, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 5, 0, 0, 123, tzinfo=UTC),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
    ids=["whole-second", "microseconds", "year-999", "other-offset"],
)
def test_utc_datetimes_bind_on_sqlite_as_sqlalchemys_own_text(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    sqlalchemys = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and sqlalchemys is not None
    assert ours(moment) == sqlalchemys(moment.astimezone(UTC).replace(tzinfo=None))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_a_naive_datetime_is_refused(dialect: Any) -> None:
    processor = UTCDateTime().bind_processor(dialect)
    assert processor is not None
    with pytest.raises(ValueError, match="naive"):
        processor(datetime(2026, 1, 1))
