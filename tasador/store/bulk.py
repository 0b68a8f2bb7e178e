"""Bulk inserts: COPY on PostgreSQL, batched executemany elsewhere (never row-by-row ORM inserts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples in the order of `columns`) into `table` inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        return _copy_rows(conn, table, columns, rows)
    batch: list[Mapping[str, Any]] = [dict(zip(columns, row, strict=True)) for row in rows]
    if batch:
        conn.execute(table.insert(), batch)
    return len(batch)


def _copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    # The driver connection shares the SQLAlchemy transaction, so COPY commits or rolls back with it.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    count = 0
    column_list = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_copy_value(v) for v in row])
            count += 1
    return count


def _copy_value(value: Any) -> Any:
    # COPY's text format takes None as NULL; NaN floats from pandas must become NULL too.
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dt.date | dt.datetime | str | int | float | bool):
        return value
    return str(value)
