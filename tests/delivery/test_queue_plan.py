"""The claim query walks the partial index of pending deliveries, however much history there is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from app.delivery import queue
from tests.conftest import AppHarness
from tests.factories import create_pending_deliveries, create_subscription


async def test_the_claim_query_uses_the_partial_index(harness: AppHarness) -> None:
    engine = harness.runtime.engine
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))  # an empty table: would it use it at all?
        plan = await _plan(conn, queue.DUE_QUERY.params(now=clock.utc_now(), limit=64))
    assert "ix_deliveries_due" in plan, plan


async def test_with_statistics_a_claim_walks_the_index_in_order_instead_of_sorting_every_due_delivery(
    harness: AppHarness,
) -> None:
    """With statistics (PostgreSQL's autovacuum gathers them; SQLite's ANALYZE), a planner that misjudges
    the disabled-subscription filter sorts every due delivery for each claim of a few."""
    engine = harness.runtime.engine
    subscription = await create_subscription(engine, "http://127.0.0.1:9/hook")
    await create_pending_deliveries(engine, subscription["id"], 2000)
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        plan = await _plan(conn, queue.DUE_QUERY.params(now=clock.utc_now(), limit=32))
    assert "ix_deliveries_due" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


async def _plan(conn: AsyncConnection, statement: Select[Any]) -> str:
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}).string
    explain = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
    return "\n".join(str(row[-1]) for row in (await conn.execute(text(f"{explain} {compiled}"))).all())
