"""The queue's transactions on both stores: a claim leases what it returns; a record moves on only what
the worker still holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock, jsonenc
from app.db import Transactor, create_engine
from app.delivery import queue
from app.delivery.repository import DeliveryStatus
from app.event.envelope import Event
from app.models import deliveries, events
from tests.conftest import make_settings
from tests.factories import attempt_rows, create_pending_deliveries, create_subscription, delivery_rows

LEASE = timedelta(seconds=60)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[tuple[AsyncEngine, Transactor]]:
    """The engine and a worker lane (one kept connection), as the worker's queue calls use them."""
    settings = make_settings(database_url)
    engine = create_engine(settings)
    transactor = Transactor(engine, settings).for_one_caller()
    try:
        yield engine, transactor
    finally:
        await transactor.release()
        transactor.close()
        await engine.dispose()


def outcome(delivery_id: str, status: DeliveryStatus, status_code: int | None) -> queue.Outcome:
    now = clock.utc_now()
    retry_at = now + timedelta(seconds=30) if status is DeliveryStatus.PENDING else None
    error = None if status is DeliveryStatus.SUCCEEDED else "HTTP 500"
    return queue.Outcome(
        delivery_id, 1, now, status_code, 12, error, "oops" if error else None, status, retry_at
    )


async def test_a_claim_leases_the_due_deliveries_it_returns_with_their_envelopes(
    store: tuple[AsyncEngine, Transactor],
) -> None:
    engine, transactor = store
    subscription = await create_subscription(engine, "http://127.0.0.1:9/hook")
    made = await create_pending_deliveries(engine, subscription["id"], 3)
    now = clock.utc_now()
    claimed = await queue.claim(transactor, "worker-a", 2, now, LEASE)
    again = await queue.claim(transactor, "worker-b", 5, now, LEASE)
    rows = {row["id"]: row for row in await delivery_rows(engine)}
    assert len(claimed) == 2 and {item.id for item in again} == set(made) - {c.id for c in claimed}
    for item in claimed:
        assert rows[item.id]["locked_by"] == "worker-a" and rows[item.id]["locked_until"] == now + LEASE
        assert item.url == subscription["url"] and item.secrets == (subscription["secret"],)
        assert item.attempt_count == 0
    async with engine.connect() as conn:
        stored = {row.id: Event.from_row(row) for row in await conn.execute(select(events))}
    for item in [*claimed, *again]:  # the envelope the API shows for the event, to the byte
        assert item.body == jsonenc.dumps_bytes(stored[item.event_id].envelope())


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        ("2026-12-03 18:00:00.123456", "2026-12-03T18:00:00.123456Z"),  # as UTCDateTime writes it
        ("2026-12-03 18:00:00", "2026-12-03T18:00:00.000000Z"),  # any other shape is parsed
        ("2026-12-03T18:00:00.5", "2026-12-03T18:00:00.500000Z"),
    ],
)
def test_a_sqlite_received_at_is_sent_in_the_envelopes_form(stored: str, sent: str) -> None:
    assert queue._sqlite_moment(stored) == sent


async def test_a_record_moves_on_only_the_deliveries_the_worker_still_holds(
    store: tuple[AsyncEngine, Transactor],
) -> None:
    engine, transactor = store
    subscription = await create_subscription(engine, "http://127.0.0.1:9/hook")
    await create_pending_deliveries(engine, subscription["id"], 3)
    done, retried, taken = sorted(
        item.id for item in await queue.claim(transactor, "worker-a", 3, clock.utc_now(), LEASE)
    )
    async with engine.begin() as conn:  # its lease ran out and another worker claimed it
        await conn.execute(update(deliveries).where(deliveries.c.id == taken).values(locked_by="worker-b"))
    outcomes = [
        outcome(done, DeliveryStatus.SUCCEEDED, 204),
        outcome(retried, DeliveryStatus.PENDING, 500),
        outcome(taken, DeliveryStatus.SUCCEEDED, 204),
    ]
    await queue.record(transactor, "worker-a", outcomes, clock.utc_now())
    rows = {row["id"]: row for row in await delivery_rows(engine)}
    attempts = await attempt_rows(engine)
    assert [(a["delivery_id"], a["number"], a["status_code"]) for a in attempts] == [
        (done, 1, 204),
        (retried, 1, 500),
    ]
    assert attempts[1]["error"] == "HTTP 500" and attempts[1]["response_excerpt"] == "oops"
    assert (rows[done]["status"], rows[done]["attempt_count"], rows[done]["locked_by"]) == (
        "succeeded",
        1,
        None,
    )
    assert (rows[retried]["status"], rows[retried]["last_status_code"]) == ("pending", 500)
    assert (
        rows[retried]["next_attempt_at"] == outcomes[1].next_attempt_at
        and rows[retried]["locked_until"] is None
    )
    assert (rows[taken]["status"], rows[taken]["attempt_count"], rows[taken]["locked_by"]) == (
        "pending",
        0,
        "worker-b",
    )
