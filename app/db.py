"""Engines for both stores behind one code path: SQLite (embedded default, WAL) and PostgreSQL (production).

Callers use SQLAlchemy Core on ``AsyncConnection``; transactions are opened by the layer that owns them
(the ingest writer, the delivery worker, the request dependency), never inside repositories.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ClauseElement

from app.config import Settings
from app.jsonenc import dumps, loads

P = ParamSpec("P")
T = TypeVar("T")


def async_url(database_url: str) -> str:
    """``sqlite:///x.db`` → aiosqlite, ``postgresql://`` / ``postgres://`` → asyncpg; others untouched."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    if url.drivername == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif url.drivername == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


def create_engine(settings: Settings) -> AsyncEngine:
    url = async_url(settings.database_url)
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, json_serializer=dumps, json_deserializer=loads, pool_size=8, max_overflow=8, pool_timeout=30
        )
        _configure_sqlite(engine.sync_engine, settings.sqlite_synchronous.upper())
        return engine
    return create_async_engine(
        url,
        json_serializer=dumps,
        json_deserializer=loads,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        # A restarted PostgreSQL leaves dead sockets in the pool; pre-ping swaps them out instead of
        # failing one request per stale connection.
        pool_pre_ping=True,
        connect_args={"timeout": 3, "server_settings": {"application_name": "switchboard"}},
    )


def create_sqlite_writer_engine(settings: Settings) -> Engine:
    """A plain (sync) SQLite engine with one connection, for a thread that owns all its writes.

    Through aiosqlite every statement costs several thread hand-offs (cursor, execute, fetch, close);
    a writer thread running the whole batch transaction on the stdlib driver costs one.
    """
    engine = create_sync_engine(
        make_url(settings.database_url).set(drivername="sqlite"),
        json_serializer=dumps,
        json_deserializer=loads,
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )
    _configure_sqlite(engine, settings.sqlite_synchronous.upper())
    return engine


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that `begin` below decides the lock mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        # Several processes (serve + workers) may share the file: wait for the lock instead of failing.
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads then writes can
        # fail with "database is locked" when another writer got in between; waiting at BEGIN cannot.
        driver_execute(connection, "BEGIN IMMEDIATE")


def on_stdlib_sqlite(conn: Connection) -> bool:
    """Whether ``conn`` is the stdlib ``sqlite3`` driver's (the writer thread's), not aiosqlite's."""
    return isinstance(conn.connection.dbapi_connection, sqlite3.Connection)


def driver_execute(conn: Connection, sql: str, params: Any = (), *, many: bool = False) -> list[Any]:
    """Run ``sql`` on the connection's driver; the rows it returns (none for ``many``).

    On the stdlib ``sqlite3`` driver (the writer thread's connection) the statement goes to the
    driver's cursor directly: SQLAlchemy's execution context costs about 25 µs per statement, more
    than a 16-event batch's insert itself. Driver errors are wrapped as SQLAlchemy wraps them, so
    callers see the same exception classes either way.
    """
    driver = conn.connection.dbapi_connection
    if not isinstance(driver, sqlite3.Connection):
        result = conn.exec_driver_sql(sql, params) if params else conn.exec_driver_sql(sql)
        return list(result.all()) if result.returns_rows else []
    cursor = driver.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
            return []
        cursor.execute(sql, params)
        return cursor.fetchall()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, params, exc, sqlite3.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def describe_error(exc: BaseException) -> str:
    """The driver's message for a log line, never the statement's parameters (they hold message bodies)."""
    message = str(getattr(exc, "orig", None) or exc)
    return f"{type(exc).__name__}: {message.splitlines()[0][:300] if message else ''}"


class Transactor:
    """Runs a sync function of a ``Connection`` in one write transaction, the same SQL on both stores.

    SQLite: on this process's single writer thread, on a plain connection. One thread hand-off per
    transaction instead of several per statement through aiosqlite, and this process's writers (the
    ingest batches, the delivery worker's claims and records) queue in Python instead of meeting on
    SQLite's file lock, whose busy handler sleeps up to 100 ms at a time.
    PostgreSQL: on the async engine, through ``run_sync``.
    """

    def __init__(self, engine: AsyncEngine, settings: Settings):
        self._engine = engine
        self._sqlite: Engine | None = None
        self._connection: Connection | None = None  # the writer thread's, kept across transactions
        self._keeps = False  # PostgreSQL: keep one connection across transactions (for_one_caller)
        self._kept: AsyncConnection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._synchronous = settings.sqlite_synchronous.upper()
        if settings.is_sqlite:
            self._sqlite = create_sqlite_writer_engine(settings)
            self._thread = ThreadPoolExecutor(1, "sqlite-writer")

    async def run(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(True, lambda conn: fn(conn, *args, **kwargs))

    async def run_nondurable(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """The same, for a transaction that a power cut (not a process crash) may undo harmlessly: it
        commits without waiting for the disk. SQLite: ``synchronous=NORMAL`` for this transaction
        (WAL: a crashed process loses nothing). PostgreSQL: ``synchronous_commit = off``. Each store
        writes its log in order, so a later durable commit makes this one durable too."""
        return await self._run(False, lambda conn: fn(conn, *args, **kwargs))

    def for_one_caller(self) -> Transactor:
        """A transactor for a caller that runs one transaction at a time (the ingest writer).

        SQLite: this one; its writer thread keeps its connection already. PostgreSQL: one that keeps a
        connection between transactions, where a pool checkout (with its liveness ping) cost a round
        trip and a fifth of an ingest batch's time. ``release()`` gives the connection back.
        """
        if self._sqlite is not None:
            return self
        lane = copy.copy(self)  # the same engine and settings
        lane._keeps, lane._kept = True, None
        return lane

    async def _run(self, durable: bool, fn: Callable[[Connection], T]) -> T:
        if self._sqlite is None:
            if self._keeps:
                return await self._in_kept(durable, fn)
            async with self._engine.begin() as conn:
                return await _in_postgres(conn, durable, fn)
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, functools.partial(self._in_sqlite, durable, fn)
        )

    async def _in_kept(self, durable: bool, fn: Callable[[Connection], T]) -> T:
        if self._kept is None:
            self._kept = await self._engine.connect()
        conn = self._kept
        try:
            async with conn.begin():
                return await _in_postgres(conn, durable, fn)
        except BaseException:
            # The connection may be what broke (PostgreSQL restarted): the next transaction gets a
            # fresh one, so only the batch in flight fails (503: Twilio retries it).
            self._kept = None
            with contextlib.suppress(Exception):
                await conn.close()
            raise

    async def release(self) -> None:
        """Return a kept connection to the pool (see ``for_one_caller``)."""
        if self._kept is not None:
            conn, self._kept = self._kept, None
            await conn.close()

    @property
    def on_postgres(self) -> bool:
        return self._sqlite is None

    async def fetch(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[Any]:
        """PostgreSQL, on a kept connection (``for_one_caller``): one statement, sent to asyncpg as it is
        and committed on its own, its rows read by name or attribute.

        For the delivery worker's claims and records, each a single statement: one round trip instead
        of three (BEGIN, statement, COMMIT), and none of SQLAlchemy's execution and result machinery,
        which cost the worker more CPU than the statement itself (a claim of 32 rows: about 2.9 ms of
        CPU through ``run`` against 1.2 ms here). Values go to the driver as they are, without
        SQLAlchemy's bind processing.
        """
        assert self._keeps, "fetch runs on a kept connection: use for_one_caller()"
        sql, names = _driver_sql(statement, self._engine.dialect)
        if self._kept is None:
            self._kept = await self._engine.connect()
        conn = self._kept
        try:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            rows: list[Any] = await driver.fetch(sql, *[params[name] for name in names], record_class=Record)
            return rows
        except BaseException:
            self._kept = None  # as in _in_kept: the connection may be what broke
            with contextlib.suppress(Exception):
                await conn.close()
            raise

    def _in_sqlite(self, durable: bool, fn: Callable[[Connection], T]) -> T:
        conn = self._writer_connection()
        relax = not durable and self._synchronous in ("FULL", "EXTRA")
        # SQLite refuses to change the safety level inside a transaction: around it, on the driver.
        driver = conn.connection.dbapi_connection
        assert driver is not None
        if relax:
            driver.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn.begin():
                return fn(conn)
        finally:
            if relax:
                driver.execute(f"PRAGMA synchronous={self._synchronous}")

    def _writer_connection(self) -> Connection:
        """The writer thread's connection, opened once: a pool checkout and check-in per transaction
        cost as much as a small batch's statements. A connection the driver broke is replaced."""
        assert self._sqlite is not None
        if self._connection is None or self._connection.invalidated or self._connection.closed:
            if self._connection is not None:
                self._connection.close()
            self._connection = self._sqlite.connect()
        return self._connection

    def close(self) -> None:
        if self._thread is not None and self._sqlite is not None:
            self._thread.shutdown(wait=True)
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            self._sqlite.dispose()


class Record(asyncpg.Record):  # type: ignore[misc]  # asyncpg has no type hints
    """asyncpg's row, also read by attribute, as SQLAlchemy's rows are."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@functools.lru_cache(maxsize=32)
def _driver_sql(statement: ClauseElement, dialect: Any) -> tuple[str, tuple[str, ...]]:
    """The driver's SQL for ``statement`` (compiled once), and its parameters' names in bind order."""
    compiled: Any = statement.compile(dialect=dialect)  # an SQLCompiler: positional for asyncpg
    return compiled.string, tuple(compiled.positiontup)


async def _in_postgres(conn: AsyncConnection, durable: bool, fn: Callable[[Connection], T]) -> T:
    if not durable:
        await conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    return await conn.run_sync(fn)


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        return False


async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction, committed on success and rolled back on error (for request dependencies)."""
    async with engine.begin() as conn:
        yield conn
