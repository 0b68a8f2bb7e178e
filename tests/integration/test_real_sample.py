"""The real 10,000-row sample through ingest -> validate -> clean, on SQLite and on PostgreSQL.

The figures asserted here are the ones the README quotes: of 10,000 listings, 6 have no price and are
quarantined at validation; the other 9,994 reach CLEAN (the sample has no duplicates and no impossible
values). Every 2,000-row batch passes the soft feed checks.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tasador.cleaning.clean import clean_batch, normalise
from tasador.schema import Batch
from tasador.settings import Settings
from tasador.store import Store
from tasador.validation import validate_batch

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared/data/realtor-data.csv"
BATCH_ROWS = 2_000
TODAY = dt.date(2026, 11, 23)
EXPECTED_REASONS = {"price missing": 6}


@pytest.fixture(scope="module")
def sample_rows() -> list[dict[str, Any]]:
    if not SAMPLE.exists():
        pytest.skip(f"real sample not found at {SAMPLE} (it lives in ../shared/data, never in the repo)")
    frame = pd.read_csv(SAMPLE)
    rows = frame.astype(object).to_dict("records")
    # As a JSON feed sends it: missing values are null, not NaN.
    return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()} for row in rows]


def batches(rows: list[dict[str, Any]]) -> Iterator[Batch]:
    for number, start in enumerate(range(0, len(rows), BATCH_ROWS), start=1):
        yield Batch(source="realtor-sample", group_number=1, batch_number=number, rows=rows[start : start + BATCH_ROWS])


def test_the_sample_normalises_with_six_rows_quarantined(sample_rows: list[dict[str, Any]]) -> None:
    clean, quarantined = normalise(list(enumerate(sample_rows, start=1)), Settings().configs.cleaning, TODAY)

    assert Counter(quarantined["reason"]) == EXPECTED_REASONS
    assert len(clean) == 9_994
    assert clean["zip_code"].str.fullmatch(r"\d{5}").sum() == 9_993  # one listing has no zip code
    assert clean["state"].nunique() == 54 and set(clean["status"]) == {"for_sale", "sold", "ready_to_build"}


@pytest.fixture(scope="module")
def postgres_module_url() -> Iterator[str]:
    from tests.support.postgres import create_postgres_database, drop_database, postgres_available

    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    url = create_postgres_database("tasador_sample")
    yield url
    drop_database(url)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_sample_goes_through_ingest_validate_and_clean(
    backend: str, sample_rows: list[dict[str, Any]], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_module_url") if backend == "postgres" else f"sqlite:///{tmp_path}/t.db"
    store = Store(url)
    settings = Settings(home=tmp_path / "home")
    validation, cleaning = Settings().configs.validation, Settings().configs.cleaning
    reasons: Counter[str] = Counter()

    for batch in batches(sample_rows):
        batch_id = store.ingest_raw(batch).batch_id
        outcome = validate_batch(store, batch_id, settings, validation, cleaning, TODAY)
        summary = clean_batch(store, batch_id, cleaning, outcome.hard_failures, TODAY)
        assert outcome.success, f"batch {batch.batch_number}: {outcome.summary['failed_expectations']}"
        assert summary.rows_in == summary.clean + summary.quarantined == BATCH_ROWS
        assert outcome.html_path.exists()
        reasons.update(store.quarantine_counts(batch_id))

    assert reasons == EXPECTED_REASONS
    assert store.count("raw_rows") == 10_000
    assert store.count("clean_rows") == 9_994
    assert len(store.clean_frame()["row_hash"].unique()) == 9_994
    with store.engine.connect() as conn:
        assert {row[0] for row in conn.exec_driver_sql("SELECT DISTINCT stage FROM quarantine")} == {"validation"}
    store.dispose()
