"""RAW/CLEAN store on the real databases: idempotent ingest, lineage, all-or-nothing batches."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tasador.schema import Batch
from tasador.serving.inference_log import COLUMNS
from tasador.store import Store
from tasador.store import tables as t
from tasador.store.bulk import insert_rows
from tasador.store.store import CLEAN_COLUMNS, OutdatedSchema

ROWS = [
    {"price": 100000.0, "state": "Texas", "zip_code": 75001.0},
    {"price": "250000", "state": "texas", "extra": "kept as received"},
]


def clean_frame_for(raw: list[tuple[int, dict]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "raw_row_id": [rid for rid, _ in raw],
            "row_hash": [f"{rid:032d}" for rid, _ in raw],
            "price": [100000.0] * len(raw),
            "state": ["Texas"] * len(raw),
            "zip_code": ["75001"] * len(raw),
            "prev_sold_date": pd.to_datetime(["2020-01-02"] * len(raw)),
        }
    )
    for column in CLEAN_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame


def test_raw_keeps_rows_exactly_as_received(store: Store) -> None:
    result = store.ingest_raw(Batch("api", 1, 1, ROWS, day="Tuesday"))
    assert result.created and result.row_count == 2
    assert [row for _, row in store.raw_rows(result.batch_id)] == ROWS
    assert store.batch(result.batch_id).day == "Tuesday"


def test_same_batch_twice_changes_nothing(store: Store) -> None:
    first = store.ingest_raw(Batch("api", 1, 1, ROWS))
    again = store.ingest_raw(Batch("api", 1, 1, ROWS))
    assert (again.batch_id, again.created) == (first.batch_id, False)
    assert store.count("raw_rows") == 2
    assert len(store.batches()) == 1


def test_the_same_number_with_other_rows_is_a_new_portion_never_dropped(store: Store) -> None:
    first = store.ingest_raw(Batch("api", 1, 3, ROWS))
    second = store.ingest_raw(Batch("api", 1, 3, ROWS[:1]))
    third = store.ingest_raw(Batch("api", 1, 3, ROWS[1:]))
    again = store.ingest_raw(Batch("api", 1, 3, ROWS[:1]))  # the second portion re-delivered

    assert [r.portion for r in (first, second, third)] == [1, 2, 3]
    assert (again.batch_id, again.created, again.portion) == (second.batch_id, False, 2)
    assert [(b.batch_number, b.portion, b.row_count) for b in store.batches()] == [(3, 1, 2), (3, 2, 1), (3, 3, 1)]
    assert [row for _, row in store.raw_rows(third.batch_id)] == ROWS[1:]
    assert store.count("raw_rows") == 4


def test_batch_zero_is_a_number_and_days_are_kept_apart(store: Store) -> None:
    zero = store.ingest_raw(Batch("api", 1, 0, ROWS, day="Tuesday"))
    other_day = store.ingest_raw(Batch("api", 1, 0, ROWS, day="Wednesday"))
    no_day = store.ingest_raw(Batch("api", 1, 0, ROWS))

    assert all(r.created and r.portion == 1 for r in (zero, other_day, no_day))
    assert [(b.batch_number, b.day) for b in store.batches()] == [(0, "Tuesday"), (0, "Wednesday"), (0, None)]
    assert store.pending_batch("api", 1).id == zero.batch_id, "the oldest unfinished batch comes first"


def test_a_database_of_an_earlier_tasador_is_named_not_written(sqlite_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlite_url)
    with engine.begin() as conn:  # raw_batches as tasador created it before batches had portions
        conn.execute(text("CREATE TABLE raw_batches (id INTEGER PRIMARY KEY, source VARCHAR(255), batch_number INT)"))
    engine.dispose()

    with pytest.raises(OutdatedSchema, match=r"lacks .*portion.*point TASADOR_DB_URL at a new database"):
        Store(sqlite_url)


def test_batches_are_told_apart_by_source_group_and_number(store: Store) -> None:
    for source, group, number in [("api", 1, 1), ("api", 2, 1), ("csv", 1, 1), ("api", 1, 2)]:
        store.ingest_raw(Batch(source, group, number, ROWS))
    assert store.count("raw_rows") == 8
    assert store.last_batch_number("api", 1) == 2
    assert store.last_batch_number("nowhere", 1) == 0


def test_clean_and_quarantine_replace_the_batch_and_finish_it(store: Store) -> None:
    batch_id = store.ingest_raw(Batch("api", 1, 1, ROWS)).batch_id
    raw = store.raw_rows(batch_id)
    quarantined = pd.DataFrame({"raw_row_id": [raw[1][0]], "stage": ["cleaning"], "reason": ["price missing"]})
    for _ in range(2):  # a batch cleaned twice holds its rows once
        store.save_clean(batch_id, clean_frame_for(raw[:1]), quarantined)
    assert store.count("clean_rows", batch_id) == 1
    assert store.quarantine_counts(batch_id) == {"price missing": 1}
    frame = store.clean_frame(batch_ids=[batch_id])
    assert frame.loc[0, "zip_code"] == "75001"
    assert frame.loc[0, "prev_sold_date"] == pd.Timestamp("2020-01-02")
    assert store.batch(batch_id).status == "cleaned"
    assert store.known_hashes([f"{raw[0][0]:032d}", "f" * 32]) == {f"{raw[0][0]:032d}"}


def test_unfinished_batches_are_pending_until_done_or_rejected(store: Store) -> None:
    first = store.ingest_raw(Batch("api", 1, 1, ROWS)).batch_id
    second = store.ingest_raw(Batch("api", 1, 2, ROWS)).batch_id
    assert store.pending_batch("api", 1).id == first
    store.finish(first)
    store.mark_failed(second, "train: MLflow unreachable")
    assert store.pending_batch("api", 1).error == "train: MLflow unreachable"
    store.reject(second, "empty batch")
    assert store.pending_batch("api", 1) is None


def test_a_failed_clean_leaves_the_batch_as_it_was(store: Store) -> None:
    batch_id = store.ingest_raw(Batch("api", 1, 1, ROWS)).batch_id
    raw = store.raw_rows(batch_id)
    store.save_clean(batch_id, clean_frame_for(raw[:1]), pd.DataFrame(columns=["raw_row_id", "stage", "reason"]))
    broken = clean_frame_for(raw)
    broken["row_hash"] = "same-hash-twice"  # violates the unique row hash: the transaction must roll back
    with pytest.raises(IntegrityError):  # SQLAlchemy's, whichever backend and write path
        store.save_clean(batch_id, broken, pd.DataFrame(columns=["raw_row_id", "stage", "reason"]))
    assert store.count("clean_rows", batch_id) == 1


def _open_store(url: str) -> None:
    Store(url).dispose()


def test_processes_meeting_a_fresh_database_at_once_all_start(postgres_url: str) -> None:
    # The service's workers and a pipeline can all create the schema of a fresh database at the same moment.
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_open_store, [postgres_url] * 8)
    assert Store(postgres_url).count("raw_batches") == 0


ODD_ROWS = [
    {"city": 'tab\there, newline\nthere, back\\slash and "quotes"', "state": "Montréal ✓"},
    {"city": "carriage\rreturn, \\N, \\t and \\\\", "street": "\u0000 is not \\0"},
    {"brokered_by": 2**70, "street": 2**63 - 1, "price": 1e300, "nested": {"a": [1, None, True]}},
    ["not", "an", "object"],
    None,
    "just text",
]


def test_raw_keeps_odd_rows_exactly_as_received(store: Store) -> None:
    # Text that COPY must escape, integers beyond 64 bits, nesting and rows that are not objects.
    batch_id = store.ingest_raw(Batch("api", 1, 1, ODD_ROWS)).batch_id
    assert [row for _, row in store.raw_rows(batch_id)] == ODD_ROWS
    assert store.raw_rows(store.ingest_raw(Batch("api", 1, 2, [])).batch_id) == []


def test_quarantine_built_from_an_empty_and_a_full_frame_is_saved_as_given(store: Store) -> None:
    batch_id = store.ingest_raw(Batch("api", 1, 1, ROWS)).batch_id
    raw = store.raw_rows(batch_id)
    empty = pd.DataFrame({"raw_row_id": pd.Series([], dtype="int64"), "stage": "", "reason": ""}).astype(
        {"stage": "str", "reason": "str"}
    )
    full = pd.DataFrame({"raw_row_id": [raw[1][0]], "stage": ["cleaning"], "reason": ['bed not a number: "x,\\y"']})
    quarantined = pd.concat([empty, full.astype({"stage": "str", "reason": "str"})], ignore_index=True)
    store.save_clean(batch_id, clean_frame_for(raw[:1]), quarantined)
    assert store.quarantine_counts(batch_id) == {'bed not a number: "x,\\y"': 1}
    frame = store.clean_frame(batch_ids=[batch_id])
    assert frame.loc[0, "price"] == 100000.0 and pd.isna(frame.loc[0, "bed"]) and frame.loc[0, "city"] is None


def test_inference_log_rows_keep_odd_values_on_both_databases(store: Store) -> None:
    at = dt.datetime(2026, 11, 23, 20, 1, 2, 345678, tzinfo=dt.UTC)
    odd = ["tab\there", "new\nline", "back\\slash \\N", "ünïcödé ✓", '{"quoted": "json"}']
    rows = [(f"req-{i}", i, at, None if i % 2 else "7", text, float(i) + 0.5) for i, text in enumerate(odd)]
    rows += [("req-none", 0, at, "7", "{}", None), ("req-np", 0, at, "7", "{}", np.float64(1.25))]
    with store.engine.begin() as conn:
        assert insert_rows(conn, t.inference_log, COLUMNS, rows) == len(rows)
    with store.engine.connect() as conn:
        saved = {r.request_id: r for r in conn.execute(select(t.inference_log))}
    for request_id, index, _, version, text, prediction in rows[: len(odd)]:
        row = saved[request_id]
        assert (row.row_index, row.model_version, row.inputs, row.prediction) == (index, version, text, prediction)
        received = row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=dt.UTC)
        assert received == at
    assert saved["req-none"].prediction is None
    assert saved["req-np"].prediction == 1.25
