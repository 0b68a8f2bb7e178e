"""Bulk inserts: COPY on PostgreSQL, batched executemany elsewhere (never row-by-row ORM inserts)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
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


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert a DataFrame whose columns are `table`'s: one CSV COPY on PostgreSQL, executemany elsewhere."""
    if frame.empty:
        return 0
    if conn.dialect.name != "postgresql":
        records = frame.astype(object).where(pd.notna(frame), None).to_dict("records")
        conn.execute(table.insert(), [{k: _plain(v) for k, v in row.items()} for row in records])
        return len(records)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d")
    column_list = ", ".join(f'"{c}"' for c in frame.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"""COPY "{table.name}" ({column_list}) FROM STDIN (FORMAT csv, NULL '\\N')""") as copy:
        copy.write(buffer.getvalue())
    return len(frame)


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
