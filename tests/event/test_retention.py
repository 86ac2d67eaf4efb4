"""Retention: old events go with their deliveries and attempts, in batches; pending and recent ones stay."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock, ids
from app.event import retention
from app.event.pruner import Pruner, exclusive
from app.models import deliveries, delivery_attempts, events
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, make_settings
from tests.factories import create_subscription
from tests.processes import SWITCHBOARD

DAY = timedelta(days=1)


async def make_event(
    engine: AsyncEngine, subscription_id: str, age: timedelta, statuses: tuple[str, ...] = ("succeeded",)
) -> str:
    """An event received ``age`` ago with one delivery per status, each with one attempt."""
    received_at = clock.utc_now() - age
    event_id = ids.new_id("evt")
    async with engine.begin() as conn:
        await conn.execute(insert(events), {
            "id": event_id, "type": "messages/message_received", "connector": "twilio", "account_sid": ACCOUNT_SID,
            "dedupe_key": event_id, "received_at": received_at, "signature_valid": True, "data": {}, "raw": {},
        })  # fmt: skip
        for status in statuses:
            delivery_id = ids.new_id("dlv")
            await conn.execute(insert(deliveries), {
                "id": delivery_id, "event_id": event_id, "subscription_id": subscription_id, "status": status,
                "attempt_count": 1, "next_attempt_at": received_at, "created_at": received_at, "updated_at": received_at,
            })  # fmt: skip
            await conn.execute(insert(delivery_attempts), {
                "id": ids.new_id("att"), "delivery_id": delivery_id, "number": 1, "attempted_at": received_at,
                "status_code": 200 if status == "succeeded" else 500, "duration_ms": 5,
            })  # fmt: skip
    return event_id


async def table_counts(engine: AsyncEngine) -> list[int]:
    """Rows in events, deliveries and delivery_attempts."""
    async with engine.connect() as conn:
        return [
            int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
            for table in (events, deliveries, delivery_attempts)
        ]


async def event_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(events.c.id))).scalars())


@pytest.fixture
async def subscription(engine: AsyncEngine) -> dict[str, Any]:
    return await create_subscription(engine, "https://example.com/hook")


async def test_old_events_go_with_their_deliveries_and_attempts_recent_and_pending_stay(
    engine: AsyncEngine, subscription: dict[str, Any]
) -> None:
    sub = subscription["id"]
    old = [await make_event(engine, sub, 40 * DAY, ("succeeded", "failed")) for _ in range(3)]
    recent = await make_event(engine, sub, 5 * DAY)
    old_pending = await make_event(engine, sub, 90 * DAY, ("succeeded", "pending"))
    no_deliveries = await make_event(engine, sub, 31 * DAY, ())
    assert await table_counts(engine) == [6, 9, 9]

    pruned = await retention.prune(engine, clock.utc_now() - 30 * DAY, pause=0)

    assert (pruned.events, pruned.deliveries, pruned.attempts) == (4, 6, 6)
    assert await event_ids(engine) == {recent, old_pending}
    assert await table_counts(engine) == [2, 3, 3]  # the cascade left no orphans behind
    assert not set(old) & await event_ids(engine) and no_deliveries not in await event_ids(engine)


async def test_the_cascade_is_enforced_by_the_database(
    engine: AsyncEngine, subscription: dict[str, Any]
) -> None:
    """A plain DELETE of an event takes its deliveries and attempts along (SQLite: foreign_keys=ON)."""
    event_id = await make_event(engine, subscription["id"], DAY, ("succeeded", "failed"))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": event_id})
    assert await table_counts(engine) == [0, 0, 0]


async def test_prune_works_in_batches(engine: AsyncEngine, subscription: dict[str, Any]) -> None:
    for i in range(5):
        await make_event(engine, subscription["id"], (100 - i) * DAY)
    seen: list[int] = []
    total = await retention.prune(
        engine, clock.utc_now() - 30 * DAY, 2, on_batch=lambda batch: seen.append(batch.events), pause=0
    )
    assert seen == [2, 2, 1] and total.events == 5
    assert await event_ids(engine) == set()


async def test_the_first_batch_takes_the_oldest(engine: AsyncEngine, subscription: dict[str, Any]) -> None:
    oldest = await make_event(engine, subscription["id"], 60 * DAY)
    newer = await make_event(engine, subscription["id"], 45 * DAY)
    async with engine.begin() as conn:
        batch = await retention.delete_batch(conn, clock.utc_now() - 30 * DAY, 1)
    assert batch is not None and batch.events == 1
    assert await event_ids(engine) == {newer} and oldest not in await event_ids(engine)


async def test_census_counts_without_changing_anything(
    engine: AsyncEngine, subscription: dict[str, Any]
) -> None:
    sub = subscription["id"]
    await make_event(engine, sub, 40 * DAY, ("succeeded", "failed"))
    await make_event(engine, sub, 40 * DAY, ("pending",))
    await make_event(engine, sub, DAY)
    async with engine.connect() as conn:
        census = await retention.census(conn, clock.utc_now() - 30 * DAY)
    assert (census.prunable.events, census.prunable.deliveries, census.prunable.attempts) == (1, 2, 2)
    assert census.kept_pending == 1
    assert await table_counts(engine) == [3, 4, 4]


async def test_a_background_round_prunes_with_the_configured_age(
    engine: AsyncEngine, subscription: dict[str, Any]
) -> None:
    await make_event(engine, subscription["id"], 8 * DAY)
    kept = await make_event(engine, subscription["id"], 6 * DAY)
    pruned = await Pruner(engine, 7).run_once()
    assert pruned is not None and pruned.events == 1
    assert await event_ids(engine) == {kept}


async def test_only_one_process_prunes_at_a_time_on_postgresql(postgres_url: str) -> None:
    from app.db import create_engine
    from tests.conftest import _truncate

    await _truncate(postgres_url)
    engine = create_engine(make_settings(postgres_url))
    try:
        subscription = await create_subscription(engine, "https://example.com/hook")
        await make_event(engine, subscription["id"], 8 * DAY)
        async with exclusive(engine) as first:
            assert first
            assert await Pruner(engine, 7).run_once() is None  # another "process" holds the lock
        assert (await Pruner(engine, 7).run_once() or retention.Counts()).events == 1
    finally:
        await engine.dispose()


async def test_serve_starts_a_pruner_only_when_retention_is_set(harness_factory: Any) -> None:
    without = await harness_factory()
    assert without.runtime.pruner is None
    with_retention = await harness_factory(retention_days=30)
    assert isinstance(with_retention.runtime.pruner, Pruner)


def run_prune(
    database_url: str, tmp_path: Path, *args: str, days: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "SWITCHBOARD_DATABASE_URL": database_url,
        "PATH": str(Path(SWITCHBOARD).parent),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    }
    if days is not None:
        env["SWITCHBOARD_RETENTION_DAYS"] = days
    return subprocess.run(
        [SWITCHBOARD, "events", "prune", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


async def test_the_prune_command_dry_run_then_for_real(
    database_url: str, engine: AsyncEngine, subscription: dict[str, Any], tmp_path: Path
) -> None:
    sub = subscription["id"]
    for _ in range(3):
        await make_event(engine, sub, 40 * DAY, ("succeeded",))
    await make_event(engine, sub, 40 * DAY, ("pending",))
    await make_event(engine, sub, DAY)

    dry = run_prune(database_url, tmp_path, "--older-than-days", "30", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("dry run: would prune 3 events received before ")
    assert (
        "(with 3 deliveries and 3 attempts); kept 1 older events that still have pending deliveries"
        in dry.stdout
    )
    assert await table_counts(engine) == [5, 5, 5]

    real = run_prune(database_url, tmp_path, "--batch-size", "2", days="30")  # the age from the setting
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith("pruned 3 events received before ")
    assert "kept 1 older events that still have pending deliveries" in real.stdout
    # Not a terminal: plain progress lines with counts and rate, no carriage returns.
    assert "\r" not in real.stderr and "3/3 events" in real.stderr and "/s" in real.stderr
    assert await table_counts(engine) == [2, 2, 2]


def test_the_prune_command_needs_an_age(tmp_path: Path) -> None:
    result = run_prune(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert result.returncode == 2
    assert "give --older-than-days N, or set SWITCHBOARD_RETENTION_DAYS" in result.stderr


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "a week"], ids=["zero", "negative", "fraction", "words"])
def test_retention_days_must_be_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    result = run_prune(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, days=value)
    assert result.returncode == 2 and "SWITCHBOARD_RETENTION_DAYS" in result.stderr
