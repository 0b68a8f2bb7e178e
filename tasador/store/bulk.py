"""Bulk inserts: COPY on PostgreSQL, executemany on SQLite (never row-by-row ORM work).

`insert_rows` is the one writer; `insert_frame` turns a DataFrame into the plain Python values it writes.
On PostgreSQL the rows go through psycopg's `Cursor.copy()`, which adapts each value itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
from psycopg import sql
from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples in the order of `columns`) into `table` inside the caller's transaction.

    None is NULL; values are the plain Python types of the columns (str, int, float, date, datetime).
    """
    if conn.dialect.name != "postgresql":
        batch: list[Mapping[str, Any]] = [dict(zip(columns, row, strict=True)) for row in rows]
        if batch:
            conn.execute(table.insert(), batch)
        return len(batch)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    # The driver connection is the one of the SQLAlchemy transaction: COPY commits or rolls back with it.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    count = 0
    with driver_errors(conn, statement.as_string(cursor)), cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


@contextmanager
def driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Errors of direct driver calls raised as SQLAlchemy's (IntegrityError, OperationalError...), as
    statements run through SQLAlchemy raise them: callers catch one family of exceptions."""
    base = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except base as exc:
        raise DBAPIError.instance(statement, None, exc, base, dialect=conn.dialect) from exc


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert a DataFrame whose columns are `table`'s, with `insert_rows`.

    Missing values (None, NaN, NaT) become NULL; datetimes are written as dates (CLEAN's date column).
    """
    return insert_rows(conn, table, [str(c) for c in frame.columns], plain_tuples(frame))


def plain_tuples(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values: None for missing, `datetime.date` for datetimes."""
    columns = []
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.date
        # An object array of a numeric column holds Python floats and ints (numpy's own scalars do not survive).
        plain = values.to_numpy(dtype=object, copy=True)
        plain[values.isna().to_numpy()] = None
        columns.append(plain.tolist())
    return list(zip(*columns, strict=True))
