"""Validate and clean share one read and parse of RAW, and never a stale one."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import pytest

from tasador.cleaning import parsed_batch
from tasador.cleaning.clean import clean_batch
from tasador.ingest.batch import Batch
from tasador.settings import Settings
from tasador.store import Store
from tasador.validation import validate_batch
from tests.unit.test_validation import MESSY

CONFIG = Settings().configs.validation
CLEANING = Settings().configs.cleaning
TODAY = dt.date(2026, 11, 23)


class CountingStore(Store):
    """The real store, counting how often a batch's rows are read back from RAW."""

    reads = 0

    def raw_texts(self, batch_id: int) -> tuple[list[int], list[str]]:
        self.reads += 1
        return super().raw_texts(batch_id)


# Rows a feed may send, and values the in-process source may hand over that JSON spells otherwise.
ODD = [
    {"Price": "1,200,000", "STATE": "texas", "zip code": "02127-1234", "extra": [1, {"a": None}]},
    {**MESSY[0], "price": float("nan"), "prev_sold_date": dt.datetime(2020, 5, 1, 12, 30)},
    {**MESSY[0], "bed": True, "city": "  new\tyork \\ ", "street": 2**70},
    "not an object",
]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> CountingStore:
    parsed_batch.forget()
    db = CountingStore(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url"))
    yield db
    db.dispose()
    parsed_batch.forget()


def _validate_and_clean(store: Store, batch_id: int, home: Path) -> tuple[int, int, dict[str, int]]:
    outcome = validate_batch(store, batch_id, Settings(home=home), CONFIG, CLEANING, TODAY)
    summary = clean_batch(store, batch_id, CLEANING, outcome.hard_failures, TODAY)
    return summary.clean, summary.quarantined, store.quarantine_counts(batch_id)


def test_clean_reuses_the_rows_validate_read_and_gives_what_a_fresh_read_gives(
    store: CountingStore, tmp_path: Path
) -> None:
    batch_id = store.ingest_raw(Batch("test", 1, 1, MESSY)).batch_id

    shared = _validate_and_clean(store, batch_id, tmp_path / "a")
    assert store.reads == 1

    # Clean let go of the rows: run alone (as in another process: Airflow, Kubernetes), it reads RAW itself.
    alone = clean_batch(store, batch_id, CLEANING, None, TODAY)
    assert store.reads == 2
    assert (alone.clean, alone.rows_in) == (shared[0], len(MESSY))
    assert shared[0] + shared[1] == len(MESSY)


def test_another_database_with_the_same_batch_id_is_read_again(tmp_path: Path) -> None:
    parsed_batch.forget()
    first, second = (CountingStore(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db"))
    try:
        one = first.ingest_raw(Batch("test", 1, 1, MESSY)).batch_id
        other = second.ingest_raw(Batch("test", 1, 1, MESSY[:2])).batch_id
        assert one == other  # same id, different rows
        assert len(parsed_batch.parsed_batch(first, one, CLEANING).frame) == len(MESSY)
        assert len(parsed_batch.parsed_batch(second, other, CLEANING).frame) == 2
        assert (first.reads, second.reads) == (1, 1)
    finally:
        first.dispose()
        second.dispose()
        parsed_batch.forget()


def test_a_batch_parsed_while_stored_is_what_reading_raw_back_gives(store: CountingStore, tmp_path: Path) -> None:
    result = parsed_batch.store_and_parse(store, Batch("test", 1, 1, MESSY + ODD), CLEANING)
    kept = parsed_batch.parsed_batch(store, result.batch_id, CLEANING)
    shared = _validate_and_clean(store, result.batch_id, tmp_path / "a")
    assert store.reads == 0  # neither validate nor clean read the batch back

    read = parsed_batch.parsed_batch(store, result.batch_id, CLEANING)  # clean let go: this one reads RAW
    assert store.reads == 1
    pd.testing.assert_frame_equal(kept.frame, read.frame)
    pd.testing.assert_series_equal(kept.unreadable, read.unreadable)
    assert kept.fields_received == read.fields_received
    assert kept.frame["raw_row_id"].tolist() == [row_id for row_id, _ in store.raw_rows(result.batch_id)]
    assert shared[0] + shared[1] == len(MESSY + ODD)


def test_a_batch_already_in_raw_is_not_parsed_again_at_ingest(store: CountingStore) -> None:
    first = parsed_batch.store_and_parse(store, Batch("test", 1, 1, MESSY), CLEANING)
    parsed_batch.forget()
    again = parsed_batch.store_and_parse(store, Batch("test", 1, 1, MESSY), CLEANING)
    assert (again.batch_id, again.created) == (first.batch_id, False)
    parsed_batch.parsed_batch(store, again.batch_id, CLEANING)
    assert store.reads == 1  # nothing was kept for it: validate reads RAW


def test_a_parse_that_fails_at_ingest_costs_the_batch_nothing(
    store: CountingStore, caplog: pytest.LogCaptureFixture
) -> None:
    broken = CLEANING.model_copy(update={"missing_tokens": None})  # parse_rows cannot read this config
    with caplog.at_level(logging.WARNING, logger="tasador.cleaning.parsed_batch"):
        result = parsed_batch.store_and_parse(store, Batch("test", 1, 1, MESSY), broken)
    assert result.created and len(store.raw_rows(result.batch_id)) == len(MESSY)
    assert "validation reads it from RAW" in caplog.text
    assert len(parsed_batch.parsed_batch(store, result.batch_id, CLEANING).frame) == len(MESSY)
    assert store.reads == 2  # the check above, then the parse: nothing stale was kept
