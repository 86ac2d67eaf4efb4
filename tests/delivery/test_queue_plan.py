"""The claim query walks the partial index of pending deliveries, however much history there is."""

from __future__ import annotations

from sqlalchemy import text

from app import clock
from app.delivery import queue
from tests.conftest import AppHarness


async def test_the_claim_query_uses_the_partial_index(harness: AppHarness) -> None:
    engine = harness.runtime.engine
    async with engine.connect() as conn:
        statement = queue.DUE_QUERY.params(now=clock.utc_now(), limit=64)
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}).string
        explain = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))  # an empty table: would it use it at all?
        plan = "\n".join(str(row[-1]) for row in (await conn.execute(text(f"{explain} {compiled}"))).all())
    assert "ix_deliveries_due" in plan, plan
