"""app/db.py's Transactor: durable transactions by default, and non-durable ones only where asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection

from app.db import Transactor, create_engine
from tests.conftest import make_settings


def _durability(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
            conn.exec_driver_sql("PRAGMA synchronous").scalar()
        ]
    return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar())


@pytest.fixture
async def transactor(database_url: str) -> AsyncIterator[Transactor]:
    settings = make_settings(database_url, sqlite_synchronous="FULL")
    engine = create_engine(settings)
    transactor = Transactor(engine, settings)
    yield transactor
    transactor.close()
    await engine.dispose()


async def test_transactions_wait_for_the_disk_by_default(transactor: Transactor, database_url: str) -> None:
    assert await transactor.run(_durability) == ("FULL" if database_url.startswith("sqlite") else "on")


async def test_a_nondurable_transaction_skips_the_flush_and_leaves_the_next_one_durable(
    transactor: Transactor, database_url: str
) -> None:
    relaxed, strict = ("NORMAL", "FULL") if database_url.startswith("sqlite") else ("off", "on")
    assert await transactor.run_nondurable(_durability) == relaxed
    assert await transactor.run(_durability) == strict


async def test_a_failing_nondurable_transaction_restores_durability(
    transactor: Transactor, database_url: str
) -> None:
    def fail(conn: Connection) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await transactor.run_nondurable(fail)
    assert await transactor.run(_durability) == ("FULL" if database_url.startswith("sqlite") else "on")


def _backend(conn: Connection) -> object:
    if conn.dialect.name == "sqlite":
        return id(conn.connection.dbapi_connection)
    return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


async def test_a_one_caller_transactor_keeps_its_connection_and_replaces_it_after_an_error(
    transactor: Transactor,
) -> None:
    lane = transactor.for_one_caller()
    first, second = await lane.run(_backend), await lane.run(_backend)
    assert first == second

    def fail(conn: Connection) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await lane.run(fail)
    assert await lane.run(_durability) in ("FULL", "on")  # works again, on a fresh connection
    await lane.release()
