"""Validate and clean share one read and parse of RAW, and never a stale one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tasador import parsed_batch
from tasador.cleaning import clean_batch
from tasador.datasource.batch import Batch
from tasador.settings import Settings, load_config
from tasador.store import Store
from tasador.validation import validate_batch
from tests.unit.test_validation import MESSY

CONFIG = load_config("validation")
CLEANING = load_config("cleaning")
TODAY = dt.date(2026, 11, 23)


class CountingStore(Store):
    """The real store, counting how often a batch's rows are read back from RAW."""

    reads = 0

    def raw_rows(self, batch_id: int) -> list[tuple[int, Any]]:
        self.reads += 1
        return super().raw_rows(batch_id)


@pytest.fixture
def store(sqlite_url: str) -> CountingStore:
    parsed_batch.forget()
    db = CountingStore(sqlite_url)
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
