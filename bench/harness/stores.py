"""The databases the bench makes and then inspects: row counts in SQLite files and PostgreSQL databases,
and PostgreSQL databases of its own, each dropped at the end."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def count_rows(database_url: str, table: str, where: str = "") -> int:
    """Rows of ``table`` (0 when the table does not exist yet), optionally filtered by a WHERE clause."""
    statement = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
    if is_sqlite(database_url):
        return _sqlite_count(Path(database_url.removeprefix("sqlite:///")), statement)
    return asyncio.run(_postgres_count(database_url, statement))


def _sqlite_count(path: Path, statement: str) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=30)
    try:
        return int(db.execute(statement).fetchone()[0])
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        db.close()


def checkpoint(database_url: str) -> None:
    """Write the store's dirty pages out and start its log afresh, before a measured run.

    PostgreSQL checkpoints every 5 minutes (``checkpoint_timeout``) and on DROP DATABASE; one that
    begins inside a target's 10 s run burdens that target alone with its writes and the full-page
    images that follow (seen: PostgreSQL ingest p99 55.7 ms in such a round, 14.5 ms in a run
    without). A checkpoint just before each run puts the next timed one out of reach and makes every
    run start alike, with its full-page images inside the run. SQLite's WAL is checkpointed into the
    file in the same way (its last connection closing already does so).
    """
    if is_sqlite(database_url):
        path = Path(database_url.removeprefix("sqlite:///"))
        if path.exists():
            db = sqlite3.connect(path, timeout=30)
            try:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                db.close()
        return
    asyncio.run(_postgres_execute(database_url, "CHECKPOINT"))


async def _postgres_execute(database_url: str, statement: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _postgres_count(database_url: str, statement: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(statement))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


class PostgresDatabases:
    """Databases ``switchboard_bench_<run>_<purpose>`` on the server of ``admin_url``, dropped at close."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.run_id = uuid.uuid4().hex[:8]
        self._created: list[str] = []

    def create(self, purpose: str) -> str:
        name = f"switchboard_bench_{self.run_id}_{purpose}"
        asyncio.run(_postgres_execute(self.admin_url, f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def drop_all(self) -> None:
        for name in reversed(self._created):
            asyncio.run(_postgres_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.clear()

    def __enter__(self) -> PostgresDatabases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_all()
