"""Statements that write many rows at once, bound as plain tuples instead of through SQLAlchemy's rows.

Why: the ingest writer and the delivery worker write hundreds of rows per transaction. Through
``Connection.execute`` every row pays for parameter construction and per-column type processing in
SQLAlchemy's execution context, which profiles put at a fifth of the ingest CPU. Here SQLAlchemy still
writes the SQL (compiled once per dialect, and per row count for a multi-row insert, so each store gets
its own correct statement) and each value still goes through its column's own bind processor (the same
text for a SQLite datetime, the same JSON for a document); only the generic per-row machinery goes.
Columns are bound in the order given, so callers build tuples, not dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from app.db import driver_execute, on_stdlib_sqlite

# The (position, bind processor) of each column that needs one.
Processors = list[tuple[int, Callable[[Any], Any]]]

MAX_ROWS = 256  # per statement: 256 rows of a dozen columns stays far below both stores' parameter limits


def _processors(cache: dict[str, Processors], columns: Sequence[Column[Any]], dialect: Dialect) -> Processors:
    """The columns' bind processors for ``dialect``, looked up once per dialect and kept in ``cache``.
    Most columns have none, and those cost nothing per row."""
    processors = cache.get(dialect.name)
    if processors is None:
        found = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
        processors = cache[dialect.name] = [(i, proc) for i, proc in enumerate(found) if proc is not None]
    return processors


def _bind(row: Sequence[Any], processors: Processors) -> Sequence[Any]:
    if not processors:
        return row
    bound = list(row)
    for i, proc in processors:
        bound[i] = proc(bound[i])
    return bound


class _Compiled:
    """The driver's SQL for one statement, with its positional parameters in bind order."""

    def __init__(self, statement: Any, dialect: Dialect, names: Sequence[str]):
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        order = compiled.positiontup
        if order is None:
            raise TypeError(f"{dialect.name}'s paramstyle is not positional")
        position = {name: i for i, name in enumerate(names)}
        order = [position[name] for name in order]
        # None: the driver takes the parameters in the order they are given (the usual case).
        self.order: list[int] | None = None if order == list(range(len(names))) else order

    def arrange(self, flat: list[Any]) -> tuple[Any, ...]:
        return tuple(flat) if self.order is None else tuple(flat[i] for i in self.order)


class BulkInsert:
    """``INSERT INTO table (columns) VALUES (…), (…) [ON CONFLICT (keys) DO NOTHING] [RETURNING col]``.

    ``returning`` names a unique column the rows carry (their new ids). On the stdlib SQLite driver the
    statement goes without RETURNING, which cost SQLite more than the insert itself: when the driver
    counts every row in, the rows' own values are the answer; when a conflict skipped some, one look-up
    of the values tells which went in (a skipped row's new id is not in the table).
    """

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        conflict_keys: Sequence[str] | None = None,
        returning: str | None = None,
    ):
        self.table = table
        self.columns = [table.c[name] for name in columns]
        self.conflict_keys = conflict_keys
        self.returning = returning
        # Where the rows carry the ``returning`` value (see _counted); None: not among the columns.
        self._returning_index = columns.index(returning) if returning in columns else None
        self._compiled: dict[tuple[str, int], _Compiled] = {}
        self._processors: dict[str, Processors] = {}

    def execute(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Insert ``rows`` (tuples in column order); the ``returning`` column of each inserted row.

        The rows go in statements of power-of-two sizes (37 rows: 32 + 4 + 1), at most ``MAX_ROWS``
        each: a handful of statements per batch, and a handful of compiled forms per dialect.
        """
        dialect = conn.dialect
        processors = _processors(self._processors, self.columns, dialect)
        counted = self._returning_index is not None and on_stdlib_sqlite(conn)
        form = "sqlite-counted" if counted else dialect.name
        returned: list[Any] = []
        start = 0
        while start < len(rows):
            count = min(MAX_ROWS, 1 << ((len(rows) - start).bit_length() - 1))
            chunk = rows[start : start + count]
            start += count
            compiled = self._compiled.get((form, count)) or self._compile(dialect, count, form)
            flat = [value for row in chunk for value in _bind(row, processors)]
            if counted:
                returned.extend(self._counted(conn, compiled.sql, compiled.arrange(flat), chunk))
            else:
                rows_back = driver_execute(conn, compiled.sql, compiled.arrange(flat))
                if self.returning:
                    returned.extend(row[0] for row in rows_back)
        return returned

    def _counted(
        self, conn: Connection, sql: str, params: tuple[Any, ...], chunk: Sequence[Any]
    ) -> list[Any]:
        """Insert without RETURNING; the ``returning`` values of the rows that went in."""
        driver = conn.connection.dbapi_connection
        before = driver.total_changes  # type: ignore[union-attr]  # a sqlite3.Connection here
        driver_execute(conn, sql, params)
        values = [row[self._returning_index] for row in chunk]
        if driver.total_changes - before == len(chunk):  # type: ignore[union-attr]
            return values
        column = self.table.c[str(self.returning)]
        present = set(conn.execute(select(column).where(column.in_(values))).scalars())
        return [value for value in values if value in present]

    def _compile(self, dialect: Dialect, count: int, form: str) -> _Compiled:
        width = len(self.columns)
        names = [f"p{row}_{col}" for row in range(count) for col in range(width)]
        values: list[dict[str, Any]] = [
            {column.name: bindparam(names[row * width + col]) for col, column in enumerate(self.columns)}
            for row in range(count)
        ]
        statement: Any
        if self.conflict_keys is not None:
            flavour = postgresql if dialect.name == "postgresql" else sqlite
            statement = (
                flavour.insert(self.table)
                .values(values)
                .on_conflict_do_nothing(index_elements=self.conflict_keys)
            )
        else:
            statement = insert(self.table).values(values)
        if self.returning and form != "sqlite-counted":
            statement = statement.returning(self.table.c[self.returning])
        compiled = _Compiled(statement, dialect, names)
        self._compiled[(form, count)] = compiled
        return compiled


class BulkUpdate:
    """``UPDATE table SET … WHERE …`` run once per row (the driver's executemany).

    ``values`` maps each column to set to a parameter name, or to a fixed SQL expression (``null()``);
    ``where`` builds the condition from the parameters given by name (``bindparam``). Rows are tuples in
    ``params`` order; each parameter is processed as the column it is named after (``params`` entries
    are ``(name, column)``).
    """

    def __init__(
        self,
        table: Table,
        params: Sequence[tuple[str, str]],
        values: dict[str, str | ColumnElement[Any]],
        where: Callable[[], ColumnElement[bool]],
    ):
        self.table = table
        self.names = [name for name, _ in params]
        self.columns = [table.c[column] for _, column in params]
        self.values = values
        self.where = where
        self._compiled: dict[str, _Compiled] = {}
        self._processors: dict[str, Processors] = {}

    def execute(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        processors = _processors(self._processors, self.columns, dialect)
        batch = [compiled.arrange(list(_bind(row, processors))) for row in rows]
        driver_execute(conn, compiled.sql, batch, many=True)

    def _compile(self, dialect: Dialect) -> _Compiled:
        by_name = dict(zip(self.names, self.columns, strict=True))
        values = {
            column: bindparam(value, type_=by_name[value].type) if isinstance(value, str) else value
            for column, value in self.values.items()
        }
        statement = update(self.table).where(self.where()).values(values)
        compiled = _Compiled(statement, dialect, self.names)
        self._compiled[dialect.name] = compiled
        return compiled
