"""RAW, CLEAN and the loop's records behind one small API (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    ARRAY,
    Engine,
    String,
    any_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)

from tasador.schema import COLUMNS, FINAL_STATUSES, Batch, BatchStatus
from tasador.store import rows_json
from tasador.store import tables as t
from tasador.store.bulk import insert_frame, insert_rows

CLEAN_COLUMNS: tuple[str, ...] = ("raw_row_id", "row_hash", *COLUMNS)
_SCHEMA_LOCK_KEY = 7_262_726_967  # any constant: names the advisory lock held while the schema is created


class OutdatedSchema(RuntimeError):
    """The database holds tables of an earlier tasador that this one cannot write without losing what they mean."""


@dataclass(frozen=True)
class IngestResult:
    batch_id: int
    created: bool  # False for a re-delivery: the same rows under the same (source, group, day, batch number)
    row_count: int
    portion: int  # 1 for the first rows received under this batch number, 2 for the next other rows, ...


@dataclass(frozen=True)
class BatchRecord:
    id: int
    source: str
    group_number: int
    batch_number: int
    day: str | None
    portion: int
    received_at: dt.datetime
    row_count: int
    status: BatchStatus
    error: str | None
    checksum: str


def batch_checksum(rows: Sequence[dict[str, Any]]) -> str:
    """sha256 of the batch as canonical JSON (keys sorted, compact)."""
    return hashlib.sha256(rows_json.canonical(rows)).hexdigest()


class Store:
    """Data access for RAW/CLEAN. Every write of a batch is one transaction: all or nothing."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if create:
            self._create_schema()

    def _create_schema(self) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several processes (the service's workers, a pipeline) may meet a fresh database at once:
                # without the lock, two CREATE TABLEs race and one fails.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            t.metadata.create_all(conn)
            missing = {c.name for c in t.raw_batches.columns} - {
                c["name"] for c in inspect(conn).get_columns("raw_batches")
            }
        if missing:
            raise OutdatedSchema(
                f"The RAW/CLEAN database at {self.engine.url.render_as_string(hide_password=True)} was created by an "
                f"earlier tasador (raw_batches lacks {', '.join(sorted(missing))}): it is left untouched; point "
                "TASADOR_DB_URL at a new database, or move the old one aside (locally: .tasador/tasador.db)."
            )

    @property
    def folder_name(self) -> str:
        """A folder name of this database, for files kept per batch: each database numbers its batches from 1,
        so two stores under one home (a local and a production stack, say) must not share a folder."""
        url = self.engine.url
        name = Path(url.database or "memory").stem
        digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:8]
        return f"{url.get_backend_name()}-{name}-{digest}"

    def dispose(self) -> None:
        self.engine.dispose()

    # --- RAW ---------------------------------------------------------------------------------
    def ingest_raw(self, batch: Batch) -> IngestResult:
        """Store a batch as received, known by what came and not only by its number.

        The same (source, group, day, batch number) with the same rows (checksum) is a re-delivery and changes
        nothing; with other rows it is a new portion of that batch, stored as received with the next portion
        number (a windowed data API answers every call inside its window with another part of the batch).
        """
        day = batch.day or ""
        checksum = batch_checksum(batch.rows)
        with self.engine.begin() as conn:
            same_number = conn.execute(
                select(t.raw_batches.c.id, t.raw_batches.c.row_count, t.raw_batches.c.checksum, t.raw_batches.c.portion)
                .where(
                    t.raw_batches.c.source == batch.source,
                    t.raw_batches.c.group_number == batch.group_number,
                    t.raw_batches.c.day == day,
                    t.raw_batches.c.batch_number == batch.batch_number,
                )
                .order_by(t.raw_batches.c.portion)
            ).all()
            for earlier in same_number:
                if earlier.checksum == checksum:
                    return IngestResult(earlier.id, False, earlier.row_count, earlier.portion)
            portion = same_number[-1].portion + 1 if same_number else 1
            batch_id = conn.execute(
                insert(t.raw_batches)
                .values(
                    source=batch.source,
                    group_number=batch.group_number,
                    batch_number=batch.batch_number,
                    day=day,
                    portion=portion,
                    received_at=dt.datetime.now(dt.UTC),
                    row_count=len(batch.rows),
                    checksum=checksum,
                    status=BatchStatus.RECEIVED,
                )
                .returning(t.raw_batches.c.id)
            ).scalar_one()
            rows = ((batch_id, index, rows_json.dumps(row)) for index, row in enumerate(batch.rows))
            insert_rows(conn, t.raw_rows, ("batch_id", "row_index", "payload"), rows)
        return IngestResult(batch_id, True, len(batch.rows), portion)

    def raw_rows(self, batch_id: int) -> list[tuple[int, Any]]:
        """(raw_row_id, row as received) pairs of a batch, in arrival order."""
        query = select(t.raw_rows.c.id, t.raw_rows.c.payload).where(t.raw_rows.c.batch_id == batch_id)
        with self.engine.connect() as conn:
            ids, texts = _columns(conn.execute(query.order_by(t.raw_rows.c.row_index)).all(), 2)
        return list(zip(ids, rows_json.loads_joined(",".join(texts)), strict=True))

    def batch(self, batch_id: int) -> BatchRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.raw_batches).where(t.raw_batches.c.id == batch_id)).first()
        if row is None:
            raise LookupError(f"No batch with id {batch_id} in RAW ({self.url}).")
        return _batch_record(row)

    def batches(self) -> list[BatchRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.raw_batches).order_by(t.raw_batches.c.id)).all()
        return [_batch_record(r) for r in rows]

    def last_batch_number(self, source: str, group_number: int) -> int:
        """Highest batch number received from this source and group (0 when none): where a source that does
        not number its batches itself counts on from."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(t.raw_batches.c.batch_number)).where(
                    t.raw_batches.c.source == source, t.raw_batches.c.group_number == group_number
                )
            ).scalar()
        return int(value or 0)

    def pending_batch(self, source: str, group_number: int) -> BatchRecord | None:
        """The oldest batch of this source and group whose processing did not finish (to be run again)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.raw_batches)
                .where(
                    t.raw_batches.c.source == source,
                    t.raw_batches.c.group_number == group_number,
                    t.raw_batches.c.status.not_in(sorted(FINAL_STATUSES)),
                )
                .order_by(t.raw_batches.c.id)  # arrival order: batch numbers may start at 0 and repeat
                .limit(1)
            ).first()
        return None if row is None else _batch_record(row)

    # --- a batch's status (tasador.schema.BatchStatus): every move is one of these ----------------
    def take_up_again(self, batch_id: int) -> None:
        """A `failed` batch back to `received`, its reason dropped: a failure from now on is this run's."""
        self._move(batch_id, BatchStatus.RECEIVED, only_from=BatchStatus.FAILED)

    def mark_validated(self, batch_id: int) -> None:
        self._move(batch_id, BatchStatus.VALIDATED)

    def reject(self, batch_id: int, reason: str) -> None:
        """The batch failed a whole-batch check: final, kept in RAW with the reason."""
        self._move(batch_id, BatchStatus.REJECTED, reason)

    def finish(self, batch_id: int) -> None:
        """The batch went through the whole loop: `done`, unless it was rejected (it stays so, with its reason)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(t.raw_batches)
                .where(t.raw_batches.c.id == batch_id, t.raw_batches.c.status != BatchStatus.REJECTED)
                .values(status=BatchStatus.DONE, error=None)
            )

    def mark_failed(self, batch_id: int, reason: str) -> None:
        """A run failed on the batch; the next run takes it up again (`pending_batch`)."""
        self._move(batch_id, BatchStatus.FAILED, reason)

    def _move(
        self, batch_id: int, status: BatchStatus, error: str | None = None, only_from: BatchStatus | None = None
    ) -> None:
        query = update(t.raw_batches).where(t.raw_batches.c.id == batch_id)
        if only_from is not None:
            query = query.where(t.raw_batches.c.status == only_from)
        with self.engine.begin() as conn:
            conn.execute(query.values(status=status, error=error))

    # --- CLEAN and quarantine ------------------------------------------------------------------
    def known_hashes(self, hashes: Iterable[str], exclude_batch: int | None = None) -> set[str]:
        """Which of `hashes` are already in CLEAN (from another batch than `exclude_batch`)."""
        wanted = list(set(hashes))
        found: set[str] = set()
        row_hash = t.clean_rows.c.row_hash
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One array parameter: an IN list binds one parameter per hash, which the driver converts one
                # by one (BENCHMARKS.md, "Ingest").
                chunks = [row_hash == any_(bindparam("hashes", wanted, type_=ARRAY(String)))] if wanted else []
            else:  # SQLite has no arrays: IN lists below its limit of bound parameters
                chunks = [row_hash.in_(wanted[start : start + 5000]) for start in range(0, len(wanted), 5000)]
            for condition in chunks:
                query = select(row_hash).where(condition)
                if exclude_batch is not None:
                    query = query.where(t.clean_rows.c.batch_id != exclude_batch)
                found.update(conn.execute(query).scalars())
        return found

    def save_clean(self, batch_id: int, clean: pd.DataFrame, quarantined: pd.DataFrame) -> None:
        """Replace the batch's CLEAN rows and quarantine in one transaction and mark it cleaned.

        `clean` has CLEAN_COLUMNS; `quarantined` has raw_row_id, stage, reason.
        """
        with self.engine.begin() as conn:
            conn.execute(delete(t.clean_rows).where(t.clean_rows.c.batch_id == batch_id))
            conn.execute(delete(t.quarantine).where(t.quarantine.c.batch_id == batch_id))
            insert_frame(conn, t.clean_rows, _with_batch(clean, CLEAN_COLUMNS, batch_id))
            insert_frame(conn, t.quarantine, _with_batch(quarantined, ("raw_row_id", "stage", "reason"), batch_id))
            conn.execute(
                update(t.raw_batches)
                .where(t.raw_batches.c.id == batch_id)
                .values(status=BatchStatus.CLEANED, error=None)
            )

    def clean_frame(self, batch_ids: Sequence[int] | None = None, up_to: int | None = None) -> pd.DataFrame:
        """CLEAN rows (with batch_id) of the given batches, or of every batch up to id `up_to`."""
        query = select(t.clean_rows).order_by(t.clean_rows.c.id)
        if batch_ids is not None:
            query = query.where(t.clean_rows.c.batch_id.in_(list(batch_ids)))
        if up_to is not None:
            query = query.where(t.clean_rows.c.batch_id <= up_to)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame["prev_sold_date"] = pd.to_datetime(frame["prev_sold_date"])
        return frame

    def quarantine_counts(self, batch_id: int) -> dict[str, int]:
        """Quarantined rows of a batch by reason, most frequent first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.quarantine.c.reason, func.count())
                .where(t.quarantine.c.batch_id == batch_id)
                .group_by(t.quarantine.c.reason)
                .order_by(func.count().desc())
            ).all()
        return {reason: int(n) for reason, n in rows}

    def count(self, table: str, batch_id: int | None = None) -> int:
        tab = t.metadata.tables[table]
        query = select(func.count()).select_from(tab)
        if batch_id is not None:
            query = query.where(tab.c.batch_id == batch_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # --- reports and decisions -------------------------------------------------------------------
    def save_report(self, batch_id: int, success: bool, json_path: str, html_path: str, summary: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.data_reports).where(t.data_reports.c.batch_id == batch_id))
            conn.execute(
                insert(t.data_reports).values(
                    batch_id=batch_id, success=success, json_path=json_path, html_path=html_path, summary=summary
                )
            )

    def report(self, batch_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.data_reports).where(t.data_reports.c.batch_id == batch_id)).first()
        return None if row is None else dict(row._mapping)

    def save_decision(self, batch_id: int, retrain: bool, reason: str, drift: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.decisions).where(t.decisions.c.batch_id == batch_id))
            conn.execute(
                insert(t.decisions).values(
                    batch_id=batch_id,
                    decided_at=dt.datetime.now(dt.UTC),
                    retrain=retrain,
                    reason=reason,
                    drift=drift,
                )
            )

    def record_outcome(self, batch_id: int, model_version: str, outcome: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.decisions)
                .where(t.decisions.c.batch_id == batch_id)
                .values(model_version=model_version, outcome=outcome)
            )

    def decisions(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(select(t.decisions).order_by(t.decisions.c.batch_id), conn)

    # --- served traffic ----------------------------------------------------------------------------
    def inference_rows(self, after_id: int, limit: int) -> pd.DataFrame:
        """Rows of the inference log after id `after_id` (oldest first, at most `limit`), inputs as JSON text."""
        log = t.inference_log
        query = select(log).where(log.c.id > after_id).order_by(log.c.id).limit(limit)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def save_served_window(self, first_log_id: int, last_log_id: int, model_version: str | None, figures: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.served_windows).values(
                    checked_at=dt.datetime.now(dt.UTC),
                    first_log_id=first_log_id,
                    last_log_id=last_log_id,
                    model_version=model_version,
                    figures=figures,
                )
            )

    def served_windows(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(select(t.served_windows).order_by(t.served_windows.c.id), conn)


def _with_batch(frame: pd.DataFrame, columns: Sequence[str], batch_id: int) -> pd.DataFrame:
    subset = frame.loc[:, list(columns)].copy()
    subset.insert(0, "batch_id", batch_id)
    return subset


def _columns(rows: Sequence[Sequence[Any]], width: int) -> tuple[list[Any], ...]:
    if not rows:
        return tuple([] for _ in range(width))
    return tuple(list(column) for column in zip(*rows, strict=True))


def _batch_record(row: Any) -> BatchRecord:
    m = row._mapping
    return BatchRecord(
        id=m["id"],
        source=m["source"],
        group_number=m["group_number"],
        batch_number=m["batch_number"],
        day=m["day"] or None,
        portion=m["portion"],
        received_at=m["received_at"],
        row_count=m["row_count"],
        status=BatchStatus(m["status"]),
        error=m["error"],
        checksum=m["checksum"],
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # the service logs while the pipeline writes
    cursor.execute("PRAGMA busy_timeout=30000")
    # With WAL, NORMAL never corrupts the database; a power cut may lose the last commits, which the
    # loop redoes (RAW ingest is idempotent, a batch not `done` is processed again).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
