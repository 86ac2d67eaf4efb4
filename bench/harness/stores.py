"""The databases the bench makes and then inspects: row counts in SQLite files and PostgreSQL databases,
and PostgreSQL databases of its own, each dropped at the end."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

T = TypeVar("T")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def count_rows(database_url: str, table: str, where: str = "") -> int:
    """Rows of ``table`` (0 when the table does not exist yet), optionally filtered by a WHERE clause."""
    statement = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
    if is_sqlite(database_url):
        return _sqlite_count(sqlite_path(database_url), statement)
    try:
        return int(on_postgres(database_url, lambda conn: conn.fetchval(statement)))
    except asyncpg.UndefinedTableError:
        return 0


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
    """Write PostgreSQL's dirty pages out and start its log afresh, before a measured run.

    PostgreSQL checkpoints every 5 minutes (``checkpoint_timeout``) and on DROP DATABASE; one that
    begins inside a target's 10 s run burdens that target alone with its writes and the full-page
    images that follow (seen: PostgreSQL ingest p99 55.7 ms in such a round, 14.5 ms in a run
    without). A checkpoint just before each run puts the next timed one out of reach and makes every
    run start alike, with its full-page images inside the run. A SQLite file needs nothing: the seed
    checkpoints its WAL when it is done, and so does the service's last connection when it stops.
    """
    if not is_sqlite(database_url):
        on_postgres(database_url, lambda conn: conn.execute("CHECKPOINT"))


def on_postgres(database_url: str, use: Callable[[Any], Awaitable[T]]) -> T:
    """What ``use`` returns on a connection of its own to ``database_url``, closed afterwards."""

    async def connected() -> T:
        conn = await asyncpg.connect(database_url)
        try:
            return await use(conn)
        finally:
            await conn.close()

    return asyncio.run(connected())


class PostgresDatabases:
    """Databases ``switchboard_bench_<run>_<purpose>`` on the server of ``admin_url``, dropped at close."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.run_id = uuid.uuid4().hex[:8]
        self._created: list[str] = []

    def create(self, purpose: str) -> str:
        name = f"switchboard_bench_{self.run_id}_{purpose}"
        self._admin(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def drop_all(self) -> None:
        for name in reversed(self._created):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()

    def _admin(self, statement: str) -> None:
        on_postgres(self.admin_url, lambda conn: conn.execute(statement))

    def __enter__(self) -> PostgresDatabases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_all()
