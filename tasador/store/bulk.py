"""Bulk reads and inserts: COPY on PostgreSQL, the driver's executemany on SQLite (never row-by-row ORM work).

Batches of 100k rows and more pass through here, so the hot paths talk to the driver directly: SQLAlchemy's
per-row parameter and result objects cost more CPU than the database spends on the rows.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Executable, Table
from sqlalchemy.exc import DBAPIError

_COPY_CHUNK_ROWS = 10_000  # rows per write to COPY: few calls, bounded memory
_COPY_NULL = "\\N"
_COPY_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples in the order of `columns`) into `table` inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        return _copy_rows(conn, table, columns, rows)
    batch: list[Mapping[str, Any]] = [dict(zip(columns, row, strict=True)) for row in rows]
    if batch:
        conn.execute(table.insert(), batch)
    return len(batch)


@contextmanager
def driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Errors of direct driver calls raised as SQLAlchemy's (IntegrityError, OperationalError...), as
    statements run through SQLAlchemy raise them: callers catch one family of exceptions."""
    base = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except base as exc:
        raise DBAPIError.instance(statement, None, exc, base, dialect=conn.dialect) from exc


def insert_json_texts(conn: Connection, table: Table, batch_id: int, texts: Sequence[str]) -> int:
    """RAW rows of one batch, (batch_id, row_index, payload) from JSON texts: COPY on PostgreSQL, each chunk
    built with a few calls over the whole chunk instead of some per row; the driver's executemany on SQLite.

    A JSON text holds no raw tab, newline or carriage return (JSON escapes them), so in COPY's text format
    only its backslashes need doubling, which one `replace` does for a whole chunk. A chunk whose counts
    of tabs and newlines say otherwise is escaped text by text.
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name != "postgresql":
        statement = f'INSERT INTO "{table.name}" ("batch_id", "row_index", "payload") VALUES (?, ?, ?)'
        with driver_errors(conn, statement):
            cursor.executemany(statement, ((batch_id, i, text) for i, text in enumerate(texts)))
        return len(texts)
    statement = f'COPY "{table.name}" ("batch_id", "row_index", "payload") FROM STDIN'
    with driver_errors(conn, statement), cursor.copy(statement) as copy:
        for start in range(0, len(texts), _COPY_CHUNK_ROWS):
            chunk = texts[start : start + _COPY_CHUNK_ROWS]
            lines = "".join([f"{batch_id}\t{start + i}\t{text}\n" for i, text in enumerate(chunk)])
            if lines.count("\t") == 2 * len(chunk) and lines.count("\n") == len(chunk) and "\r" not in lines:
                copy.write(lines.replace("\\", "\\\\"))
            else:
                copy.write("".join(f"{batch_id}\t{start + i}\t{_copy_text(text)}\n" for i, text in enumerate(chunk)))
    return len(texts)


def write_alongside(write: Callable[[], None], work: Callable[[], None], *, threaded: bool) -> None:
    """Run a database write and some other work at once; return when both are done.

    `write` runs in a worker thread and `work` here: the driver waits for the server without holding the
    GIL, so the server's CPU and ours overlap (the machine's second core works instead of waiting). Nothing
    else may use the write's connection meanwhile. A failed write raises here, after `work` finished; with
    `threaded` False (SQLite works in this process) the two simply run one after the other.
    """
    if not threaded:
        write()
        work()
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasador-write") as pool:
        written = pool.submit(write)
        try:
            work()
        except BaseException:
            wait([written])  # the connection is the write's until it ends; then the caller rolls back
            raise
        written.result()


def _copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY in text format, the lines built here (`_copy_field`) and sent in chunks: one driver call per
    chunk instead of one per row (psycopg's `write_row` adapts every value in Python)."""
    # The driver connection shares the SQLAlchemy transaction, so COPY commits or rolls back with it.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    column_list = ", ".join(f'"{c}"' for c in columns)
    count = 0
    statement = f'COPY "{table.name}" ({column_list}) FROM STDIN'
    with driver_errors(conn, statement), cursor.copy(statement) as copy:
        lines: list[str] = []
        for row in rows:
            lines.append("\t".join(map(_copy_field, row)))
            if len(lines) == _COPY_CHUNK_ROWS:
                copy.write("\n".join(lines) + "\n")
                count += len(lines)
                lines.clear()
        if lines:
            copy.write("\n".join(lines) + "\n")
            count += len(lines)
    return count


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_TEXT_ESCAPES)
    return value


def _copy_field(value: Any) -> str:
    """Any value as COPY text: NULL for None and NaN (pandas' missing floats), ISO text for dates."""
    if value is None:
        return _COPY_NULL
    if isinstance(value, str):
        return _copy_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # numpy's float64 too
        return _COPY_NULL if value != value else repr(float(value))
    if isinstance(value, dt.date):  # datetimes too; an aware one keeps its offset
        return value.isoformat()
    if hasattr(value, "item"):  # other numpy scalars
        return _copy_field(value.item())
    return _copy_text(str(value))


def fetch_all(conn: Connection, query: Executable) -> list[tuple[Any, ...]]:
    """Every row of a SELECT as plain tuples, fetched by the driver in one call."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})  # type: ignore[attr-defined]
    statement = str(compiled)
    postgres = conn.dialect.name == "postgresql"
    params = compiled.params if postgres else [compiled.params[name] for name in compiled.positiontup]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with driver_errors(conn, statement):
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        cursor.close()


def text_array(values: Sequence[str]) -> str:
    """A PostgreSQL array literal of text values ('{"a","b"}'), to send a long list as one parameter."""
    together = "".join(values)
    if '"' in together or "\\" in together:  # rare (row hashes are hex): escape value by value
        values = [v.replace("\\", "\\\\").replace('"', '\\"') for v in values]
    return '{"' + '","'.join(values) + '"}' if values else "{}"


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert a DataFrame whose columns are `table`'s: one CSV COPY on PostgreSQL, executemany elsewhere.

    Missing values (None, NaN, NaT) become NULL; datetimes are written as dates (CLEAN's date column).
    """
    if frame.empty:
        return 0
    column_list = ", ".join(f'"{c}"' for c in frame.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name != "postgresql":
        statement = f'INSERT INTO "{table.name}" ({column_list}) VALUES ({", ".join("?" for _ in frame.columns)})'
        with driver_errors(conn, statement):
            cursor.executemany(statement, _plain_tuples(frame))
        return len(frame)
    # Arrow writes the CSV in C++; "all_valid" quotes every value and leaves NULLs as bare empty fields,
    # which is how COPY's CSV format tells NULL from an empty string.
    buffer = io.BytesIO()
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    pa_csv.write_csv(_arrow_table(frame), buffer, options)
    statement = f'COPY "{table.name}" ({column_list}) FROM STDIN (FORMAT csv)'
    with driver_errors(conn, statement), cursor.copy(statement) as copy:
        copy.write(buffer.getbuffer())
    return len(frame)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    columns = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object:  # mixed or all-missing: let Arrow type what is there
            values = values.where(values.notna(), None)
        array = pa.array(values, from_pandas=True)
        if pa.types.is_timestamp(array.type):
            array = pc.cast(array, pa.date32())
        columns.append(array)
    # One chunk per column: Arrow's CSV writer emits NUL bytes for a column whose first chunk is empty
    # (pyarrow 25; a concat of an empty and a full frame makes one).
    return pa.Table.from_arrays(columns, names=[str(c) for c in frame.columns]).combine_chunks()


def _plain_tuples(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values the sqlite3 driver binds (None for missing, dates as ISO text)."""
    columns = []
    for name in frame.columns:
        values = frame[name]
        mixed = values.dtype == object
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d")
        plain = values.to_numpy(dtype=object, copy=True)  # numpy floats and ints become Python's
        plain[values.isna().to_numpy()] = None
        columns.append([_plain(v) for v in plain] if mixed else plain.tolist())
    return list(zip(*columns, strict=True))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):  # pd.Timestamp is a datetime
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
