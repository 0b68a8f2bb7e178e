"""Batch scoring: every row of a file of listings, or of a query over CLEAN, priced by the production model.

Rows are read as cleaning reads them (tasador.cleaning.parsing) and checked against cleaning's rules
(configs/cleaning.yaml), less those about the price, which a listing to be priced need not have. A row that
breaks one keeps its reason, worded as a quarantine reason, and gets no price: nothing is dropped. The
result is one frame (source row, price, reason), saved in the `batch_predictions` table under a
`batch_scorings` record that names the model version and the input's lineage (the file's path and
SHA-256, or the query and the CLEAN batches it read); the pipeline also keeps it as a versioned artifact.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv
from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, text, update

from tasador.cleaning.parsing import field_name, parse_columns
from tasador.cleaning.rules import Rule, rule_violations, rules_from
from tasador.configs import CleaningConfig, ScoringConfig
from tasador.schema import COLUMNS
from tasador.store import tables as t
from tasador.store.bulk import insert_frame

if TYPE_CHECKING:
    from tasador.model.predictor import Predictor
    from tasador.settings import Settings
    from tasador.store import Store

PREDICTION_COLUMNS: tuple[str, ...] = ("source_row", "price", "reason")
# Read as text whatever they look like: Arrow would read "02127" as 2127 and dates as dates.
_TEXT_FIELDS = frozenset({"status", "city", "state", "zip_code", "prev_sold_date"})
Progress = Callable[[int, int], None]  # (rows done, rows in all)


class InputLineage(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["csv", "clean"]
    uri: str  # the file's absolute path, or the WHERE clause over clean_rows
    sha256: str | None = None  # of the file's bytes
    rows: int
    clean_batches: list[int] = []  # the CLEAN batches the query read


class BatchScoring(BaseModel):
    """What one scoring run priced, with which model, from what."""

    model_config = ConfigDict(frozen=True)

    scoring_id: int
    scored_at: dt.datetime
    model_name: str
    model_version: str
    lineage: InputLineage
    rows: int
    priced: int
    refused: int
    top_reasons: dict[str, int]
    table: str = t.batch_predictions.name


def scoring_rules(cleaning: CleaningConfig, today: dt.date | None = None) -> list[Rule]:
    """Cleaning's rules less those about the price (the target): what a listing to be priced must satisfy."""
    return [rule for rule in rules_from(cleaning, today) if rule.column != "price"]


def csv_input(path: Path) -> tuple[pa.Table, np.ndarray, InputLineage]:
    """The CSV at `path` (header row: the schema's field names, any casing), its rows' numbers, its lineage."""
    table = read_csv(path)
    lineage = InputLineage(kind="csv", uri=str(path.resolve()), sha256=file_sha256(path), rows=table.num_rows)
    return table, np.arange(table.num_rows), lineage


def clean_input(store: Store, where: str) -> tuple[pa.Table, np.ndarray, InputLineage]:
    """The CLEAN rows a SQL condition over `clean_rows` selects (e.g. "state = 'Texas'"), their raw_row_ids."""
    rows = t.clean_rows.c
    columns = [rows.batch_id, rows.raw_row_id, *(rows[c] for c in COLUMNS)]
    query = select(*columns).where(text(where)).order_by(rows.id)
    with store.engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    # As the feed sends a date (text): the parser reads dates from text only.
    frame["prev_sold_date"] = pd.to_datetime(frame["prev_sold_date"]).dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(frame.drop(columns=["batch_id", "raw_row_id"]), preserve_index=False)
    lineage = InputLineage(
        kind="clean", uri=where, rows=len(frame), clean_batches=sorted(int(b) for b in frame["batch_id"].unique())
    )
    return table, frame["raw_row_id"].to_numpy(), lineage


def score_chunks(
    table: pa.Table, source_rows: np.ndarray, predictor: Predictor, config: ScoringConfig, cleaning: CleaningConfig
) -> Iterator[pd.DataFrame]:
    """PREDICTION_COLUMNS for the rows of `table`, `config.chunk_rows` at a time (scored as they are asked for)."""
    rules = scoring_rules(cleaning)
    for start in range(0, table.num_rows, config.chunk_rows):
        chunk = table.slice(start, config.chunk_rows)
        ids = source_rows[start : start + chunk.num_rows]
        values = {name: chunk.column(name).to_pandas() for name in chunk.column_names}
        parsed = parse_columns(ids, values, cleaning)
        reasons = parsed.unreadable.where(parsed.unreadable.notna(), rule_violations(parsed.frame, rules))
        accepted = reasons.isna().to_numpy()
        prices = np.full(len(ids), np.nan)
        prices[accepted] = predictor.predict(parsed.frame[accepted])
        yield pd.DataFrame({"source_row": ids, "price": prices, "reason": reasons.to_numpy()}).astype(
            {"source_row": "int64", "price": "float64"}
        )


def score_and_save(
    store: Store,
    source: tuple[pa.Table, np.ndarray, InputLineage],
    predictor: Predictor,
    model: tuple[str, str],
    config: ScoringConfig,
    cleaning: CleaningConfig,
    progress: Progress,
) -> tuple[pd.DataFrame, BatchScoring]:
    """Score `source` with `model` (name, version) and save the record and its rows in one transaction.

    On PostgreSQL each chunk is written while the next one is scored (the server works on the second core).
    """
    table, source_rows, lineage = source
    record = {
        "scored_at": dt.datetime.now(dt.UTC),
        "model_name": model[0],
        "model_version": model[1],
        "input_kind": lineage.kind,
        "input_uri": lineage.uri,
        "input_sha256": lineage.sha256,
        "lineage": lineage.model_dump(mode="json"),
        "rows": table.num_rows,
        "priced": 0,
        "refused": 0,
    }
    chunks = score_chunks(table, source_rows, predictor, config, cleaning)
    parts: list[pd.DataFrame] = []
    with store.engine.begin() as conn:
        scoring_id = conn.execute(
            insert(t.batch_scorings).values(**record).returning(t.batch_scorings.c.id)
        ).scalar_one()
        for chunk in chunks:
            insert_frame(conn, t.batch_predictions, chunk.assign(scoring_id=scoring_id))
            parts.append(chunk)
            progress(sum(map(len, parts)), table.num_rows)
        scored = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(PREDICTION_COLUMNS))
        refused = scored["reason"].notna()
        record |= {"priced": int((~refused).sum()), "refused": int(refused.sum())}
        query = update(t.batch_scorings).where(t.batch_scorings.c.id == scoring_id)
        conn.execute(query.values(priced=record["priced"], refused=record["refused"]))
    return scored, BatchScoring(
        scoring_id=scoring_id,
        scored_at=record["scored_at"],
        model_name=model[0],
        model_version=model[1],
        lineage=lineage,
        rows=record["rows"],
        priced=record["priced"],
        refused=record["refused"],
        top_reasons=dict(Counter(scored["reason"][refused]).most_common(config.top_reasons)),
    )


def read_csv(path: Path) -> pa.Table:
    """The file's columns, numbers read by Arrow as numbers where every value is one, text as text.

    A column with anything else in it (a word among numbers) is read as text, and the parser says which
    rows hold what it cannot read.
    """
    with path.open(newline="") as fh:
        header = next(csv.reader(fh), [])
    text_types = {name: pa.string() for name in header if field_name(name) in _TEXT_FIELDS}
    try:
        return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(column_types=text_types))
    except pa.ArrowInvalid:
        every_column = pa_csv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()))
        return pa_csv.read_csv(path, convert_options=every_column)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def score_with_production(
    store: Store,
    settings: Settings,
    progress: Progress,
    input_path: Path | None = None,
    clean_where: str | None = None,
) -> tuple[pd.DataFrame, BatchScoring]:
    """Price a file (or a query over CLEAN) with the version `production` points at now; save it all."""
    if (input_path is None) == (clean_where is None):
        raise ValueError("Give one input: a CSV file of listings (--input) or a condition over CLEAN (--clean-where).")
    from tasador.model.pyfunc import load_predictor
    from tasador.registry.alias_moves import production_version
    from tasador.registry.tracking import configure_mlflow

    name, alias = settings.registered_model_name, settings.production_alias
    version = production_version(configure_mlflow(settings), name, alias)
    if version is None:
        raise LookupError(f"No version of '{name}' is '{alias}': train one (python run.py --pipeline training).")
    with tempfile.TemporaryDirectory(prefix="tasador-scoring-") as tmp:
        predictor = load_predictor(f"models:/{name}/{version.version}", dst_path=tmp)
    if input_path is not None and not input_path.is_file():
        raise FileNotFoundError(f"No file of listings at {input_path}; give a CSV with the schema's header.")
    source = csv_input(input_path) if input_path is not None else clean_input(store, str(clean_where))
    model = (name, str(version.version))
    return score_and_save(
        store, source, predictor, model, settings.configs.scoring, settings.configs.cleaning, progress
    )
