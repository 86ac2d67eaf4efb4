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

from sqlalchemy import Column, Connection, Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

Processor = Callable[[Any], Any] | None

MAX_ROWS = 256  # per statement: 256 rows of a dozen columns stays far below both stores' parameter limits


def _processors(
    cache: dict[str, list[Processor]], columns: Sequence[Column[Any]], dialect: Dialect
) -> list[Processor]:
    """Each column's bind processor for ``dialect``, looked up once per dialect and kept in ``cache``."""
    processors = cache.get(dialect.name)
    if processors is None:
        processors = cache[dialect.name] = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
        ]
    return processors


def _bind(row: Sequence[Any], processors: Sequence[Processor]) -> list[Any]:
    return [value if proc is None else proc(value) for value, proc in zip(row, processors, strict=True)]


class _Compiled:
    """The driver's SQL for one statement, with its positional parameters in bind order."""

    def __init__(self, statement: Any, dialect: Dialect, names: Sequence[str]):
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        order = compiled.positiontup
        if order is None:
            raise TypeError(f"{dialect.name}'s paramstyle is not positional")
        position = {name: i for i, name in enumerate(names)}
        self.order = [position[name] for name in order]


class BulkInsert:
    """``INSERT INTO table (columns) VALUES (…), (…) [ON CONFLICT (keys) DO NOTHING] [RETURNING col]``."""

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
        self._compiled: dict[tuple[str, int], _Compiled] = {}
        self._processors: dict[str, list[Processor]] = {}

    def execute(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Insert ``rows`` (tuples in column order); the ``returning`` column of each inserted row.

        The rows go in statements of power-of-two sizes (37 rows: 32 + 4 + 1), at most ``MAX_ROWS``
        each: a handful of statements per batch, and a handful of compiled forms per dialect.
        """
        dialect = conn.dialect
        processors = _processors(self._processors, self.columns, dialect)
        returned: list[Any] = []
        start = 0
        while start < len(rows):
            count = min(MAX_ROWS, 1 << ((len(rows) - start).bit_length() - 1))
            chunk = rows[start : start + count]
            start += count
            compiled = self._compiled.get((dialect.name, count)) or self._compile(dialect, count)
            flat = [value for row in chunk for value in _bind(row, processors)]
            result = conn.exec_driver_sql(compiled.sql, tuple(flat[i] for i in compiled.order))
            if self.returning:
                returned.extend(result.scalars())
        return returned

    def _compile(self, dialect: Dialect, count: int) -> _Compiled:
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
        if self.returning:
            statement = statement.returning(self.table.c[self.returning])
        compiled = _Compiled(statement, dialect, names)
        self._compiled[(dialect.name, count)] = compiled
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
        self._processors: dict[str, list[Processor]] = {}

    def execute(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        processors = _processors(self._processors, self.columns, dialect)
        order = compiled.order
        batch = []
        for row in rows:
            bound = _bind(row, processors)
            batch.append(tuple(bound[i] for i in order))
        conn.exec_driver_sql(compiled.sql, batch)

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
