"""SQLAlchemy 2 tables of RAW (as received), CLEAN (typed, with lineage), quarantine and the loop's records."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tasador.schema import BatchStatus

metadata = MetaData()

# --- RAW: what came, exactly as it came ---------------------------------------------------------
raw_batches = Table(
    "raw_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(255), nullable=False),
    Column("group_number", Integer, nullable=False),
    Column("batch_number", Integer, nullable=False),
    # "" when the source names no day: a NULL would let two rows with the same key past the unique constraint.
    Column("day", String(64), nullable=False, default=""),
    # The same batch number with other rows (a windowed data API hands out a new portion of the batch on every
    # call inside its window) is a new portion: 1, 2, ... in arrival order. The same rows again change nothing.
    Column("portion", Integer, nullable=False, default=1),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("checksum", String(64), nullable=False),
    # tasador.schema.BatchStatus: received -> validated -> cleaned -> done; failed (retried by the next run) and
    # rejected carry `error`.
    Column("status", String(16), nullable=False, default=BatchStatus.RECEIVED.value),
    Column("error", Text),
    UniqueConstraint("source", "group_number", "day", "batch_number", "portion", name="uq_raw_batch_portion"),
)

# The two bulk tables (raw_rows, clean_rows) name their batch without a foreign key. PostgreSQL checks a
# foreign key with one trigger call per inserted row, a large part of COPY's cost (BENCHMARKS.md, "Figures moved
# out of the code"). Their rows are only written in the transaction that creates or
# holds their batch (Store.ingest_raw, Store.save_clean) and batches are never deleted, so the check
# guarded against nothing the code can do. raw_rows needs no index of its own on batch_id either: the
# unique (batch_id, row_index) serves every lookup by batch.
raw_rows = Table(
    "raw_rows",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", Integer, nullable=False),
    Column("row_index", Integer, nullable=False),
    Column("payload", Text, nullable=False),  # the row's JSON text as received
    UniqueConstraint("batch_id", "row_index", name="uq_raw_row"),
)

# --- CLEAN: typed, normalised, deduplicated ----------------------------------------------------
clean_rows = Table(
    "clean_rows",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", Integer, nullable=False, index=True),  # no foreign key: see raw_rows
    Column("raw_row_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("row_hash", String(32), nullable=False, unique=True),
    Column("brokered_by", String(32)),
    Column("status", String(32)),
    Column("price", Float),
    Column("bed", Float),
    Column("bath", Float),
    Column("acre_lot", Float),
    Column("street", String(32)),
    Column("city", String(128)),
    Column("state", String(64)),
    Column("zip_code", String(5)),
    Column("house_size", Float),
    Column("prev_sold_date", Date),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", ForeignKey("raw_batches.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("raw_row_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("stage", String(16), nullable=False),  # validation | cleaning
    Column("reason", String(255), nullable=False),
)

# --- the loop's records, one row per batch ------------------------------------------------------
data_reports = Table(
    "data_reports",
    metadata,
    Column("batch_id", ForeignKey("raw_batches.id", ondelete="CASCADE"), primary_key=True),
    Column("success", Boolean, nullable=False),
    Column("json_path", Text, nullable=False),
    Column("html_path", Text, nullable=False),
    Column("summary", JSON, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("batch_id", ForeignKey("raw_batches.id", ondelete="CASCADE"), primary_key=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("retrain", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("drift", JSON, nullable=False),  # per-feature figures and the volume behind the decision
    Column("model_version", String(32)),  # registered version trained for this batch, if any
    Column("outcome", String(16)),  # promoted | rejected | None (no training)
)

# --- serving: every request the service answered --------------------------------------------------
inference_log = Table(
    "inference_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("row_index", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(32)),
    Column("inputs", Text, nullable=False),  # JSON of the listing as received
    Column("prediction", Float),
    UniqueConstraint("request_id", "row_index", name="uq_inference_row"),
)

# --- batch scoring: files of listings (or queries over CLEAN) priced by the production model -----------
batch_scorings = Table(
    "batch_scorings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("input_kind", String(16), nullable=False),  # csv | clean
    Column("input_uri", Text, nullable=False),  # the file's path, or the WHERE clause over clean_rows
    Column("input_sha256", String(64)),  # the file's bytes (csv)
    Column("lineage", JSON, nullable=False),  # tasador.serving.batch_scoring.InputLineage
    Column("rows", Integer, nullable=False),
    Column("priced", Integer, nullable=False),
    Column("refused", Integer, nullable=False),
)

# One row per input row; no foreign key, as raw_rows (bulk-written in the transaction of its scoring).
batch_predictions = Table(
    "batch_predictions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("scoring_id", Integer, nullable=False, index=True),
    Column("source_row", BigInteger, nullable=False),  # the file's row (0 = first data row), or CLEAN's raw_row_id
    Column("price", Float),  # None when refused
    Column("reason", String(255)),  # why the row was not priced, in cleaning's words; None when priced
)

# --- served traffic read back: one row per window of the inference log checked ----------------------
served_windows = Table(
    "served_windows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("first_log_id", BigInteger, nullable=False),  # inference_log ids first..last, both included
    Column("last_log_id", BigInteger, nullable=False),
    Column("model_version", String(32)),  # production's version the inputs were compared with
    Column("figures", JSON, nullable=False),  # tasador.served.ServedWindow: volume, drift, predictions
)
