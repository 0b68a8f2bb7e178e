"""Validation with Great Expectations: reports per batch, hard row failures, whole-batch rejection."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tasador.cleaning.clean import clean_batch, normalise
from tasador.schema import Batch
from tasador.settings import Settings
from tasador.store import Store
from tasador.validation import BatchRejected, ValidationOutcome, validate_batch, validate_rows
from tests.unit.test_cleaning import ANY_ROW, LISTING

CONFIG = Settings().configs.validation
CLEANING = Settings().configs.cleaning
TODAY = dt.date(2026, 11, 23)

MESSY = [
    LISTING,
    {**LISTING, "city": "Durham", "price": "310000"},
    {**LISTING, "price": None},
    {**LISTING, "price": -10},
    {**LISTING, "state": "Xyz"},
    {**LISTING, "bed": "abc"},
    {**LISTING, "prev_sold_date": "1850-01-01"},
    None,
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def store(sqlite_url: str) -> Store:
    db = Store(sqlite_url)
    yield db
    db.dispose()


def ingest(store: Store, rows: Any) -> int:
    return store.ingest_raw(Batch(source="test", group_number=1, batch_number=1, rows=rows)).batch_id


@dataclass(frozen=True)
class Validated:
    store: Store
    settings: Settings
    batch_id: int
    outcome: ValidationOutcome


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Validated:
    """MESSY validated once for the tests that read its outcome (Great Expectations runs take seconds)."""
    folder = tmp_path_factory.mktemp("messy")
    store, settings = Store(f"sqlite:///{folder / 'tasador.db'}"), Settings(home=folder / "home")
    batch_id = ingest(store, MESSY)
    yield Validated(store, settings, batch_id, validate_batch(store, batch_id, settings, CONFIG, CLEANING, TODAY))
    store.dispose()


def test_a_messy_batch_gets_the_rows_to_quarantine(messy: Validated) -> None:
    raw_ids = [row_id for row_id, _ in messy.store.raw_rows(messy.batch_id)]

    assert messy.outcome.hard_failures == {
        raw_ids[2]: "price missing",
        raw_ids[3]: "price <= 0",
        raw_ids[4]: "unknown state 'Xyz'",
        raw_ids[5]: "bed not a number: 'abc'",
        raw_ids[6]: "prev_sold_date before 1900-01-01",
        raw_ids[7]: "row is not an object",
    }
    assert not messy.outcome.success  # 6 of 8 rows break a hard rule: far beyond `mostly`


def test_a_messy_batch_gets_reports_a_person_can_read(messy: Validated) -> None:
    outcome = messy.outcome

    folder = messy.settings.reports_dir / messy.store.folder_name / f"batch-{messy.batch_id:06d}"
    assert outcome.json_path == folder / "validation.json"
    document = json.loads(outcome.json_path.read_text())
    types = {r["expectation_config"]["type"] for suite in document["suites"].values() for r in suite["results"]}
    assert {
        "expect_table_columns_to_match_set",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
    } <= types
    html = outcome.html_path.read_text()
    assert "Row rules (hard: failing rows are quarantined)" in html and "values to be in set" in html
    assert "Xyz" in html and "FAIL" in html
    recorded = messy.store.report(messy.batch_id)
    assert recorded["success"] is False and recorded["html_path"] == str(outcome.html_path)
    assert recorded["summary"]["hard_failures"] == 6


def test_validation_and_cleaning_agree_on_every_reason(messy: Validated) -> None:
    _, quarantined = normalise(messy.store.raw_rows(messy.batch_id), CLEANING, TODAY)

    assert messy.outcome.hard_failures == dict(zip(quarantined["raw_row_id"], quarantined["reason"], strict=True))


EDGES = [  # each bound's edge, on either side: a column's bounds are one expectation, rows must fail it exactly
    {**LISTING, "price": 0},  # price <= 0
    {**LISTING, "price": 0.01},
    {**LISTING, "price": 100_000_000},
    {**LISTING, "price": 100_000_001},  # price above 100000000
    {**LISTING, "house_size": 0},  # house_size <= 0 (min 0 holds, above 0 does not)
    {**LISTING, "house_size": -1},  # house_size negative: the first of its rules it breaks
    {**LISTING, "bed": 100},
    {**LISTING, "bed": 100.5},  # bed above 100
    {**LISTING, "bath": -0.5},  # bath negative
    {**LISTING, "prev_sold_date": "1900-01-01"},
    {**LISTING, "prev_sold_date": "2026-11-24"},  # after TODAY
]


def test_each_bound_fails_exactly_the_rows_beyond_it(tmp_path: Path) -> None:
    raw = list(enumerate(EDGES, start=1))
    outcome = validate_rows(raw, tmp_path, CONFIG, CLEANING, today=TODAY)

    assert outcome.hard_failures == {
        1: "price <= 0",
        4: "price above 100000000",
        5: "house_size <= 0",
        6: "house_size negative",
        8: "bed above 100",
        9: "bath negative",
        11: "prev_sold_date after 2026-11-23",
    }
    _, quarantined = normalise(raw, CLEANING, TODAY)
    assert outcome.hard_failures == dict(zip(quarantined["raw_row_id"], quarantined["reason"], strict=True))


def test_validated_rows_are_quarantined_at_stage_validation(messy: Validated) -> None:
    summary = clean_batch(messy.store, messy.batch_id, CLEANING, messy.outcome.hard_failures, TODAY)

    assert (summary.rows_in, summary.clean, summary.quarantined) == (8, 2, 6)
    with messy.store.engine.connect() as conn:
        stages = {row[0] for row in conn.exec_driver_sql("SELECT stage FROM quarantine")}
    assert stages == {"validation"}


def test_a_clean_batch_passes(store: Store, settings: Settings) -> None:
    rows = [{**LISTING, "street": 1000 + i, "price": 200_000 + i} for i in range(50)]
    batch_id = ingest(store, rows)

    outcome = validate_batch(store, batch_id, settings, CONFIG, CLEANING, TODAY)

    assert outcome.success and outcome.hard_failures == {}
    assert "Every expectation met." in outcome.html_path.read_text()


def test_a_hard_rule_that_let_rows_through_says_they_were_quarantined(store: Store, settings: Settings) -> None:
    """`mostly` keeps the batch when 1 row in 200 has no price: the report's headline and that rule's row say
    the row was quarantined, not "pass"; a missing value (a third of the sale dates) is no example."""
    rows = [
        {**LISTING, "street": 1000 + i, "price": 200_000 + i, "prev_sold_date": None if i % 3 == 0 else "2015-06-30"}
        for i in range(199)
    ]
    batch_id = ingest(store, [*rows, {**LISTING, "street": 5000, "price": None, "prev_sold_date": None}])

    outcome = validate_batch(store, batch_id, settings, CONFIG, CLEANING, TODAY)

    html = outcome.html_path.read_text()
    assert outcome.success and list(outcome.hard_failures.values()) == ["price missing"]
    assert "Every expectation met." not in html
    assert "1 rows broke a" in html and 'class="quarantined">quarantined</td>' in html
    assert "NaT" not in html and ">nan<" not in html.lower()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "the batch has 0 rows, at least 1 needed"),
        ([{"price": 1.0, "state": "Texas"}], "required columns missing from every row: brokered_by, status"),
        ([None, "x", 3], "required columns missing from every row: brokered_by"),
    ],
)
def test_a_batch_that_cannot_be_processed_is_rejected_with_a_report(
    store: Store, settings: Settings, rows: list[Any], message: str
) -> None:
    batch_id = ingest(store, rows)

    with pytest.raises(BatchRejected, match=message) as rejected:
        validate_batch(store, batch_id, settings, CONFIG, CLEANING, TODAY)

    assert rejected.value.outcome.html_path.exists()
    assert "Rejected:" in rejected.value.outcome.html_path.read_text()
    assert store.report(batch_id)["summary"]["rejected"] == rejected.value.reason


def test_a_payload_that_is_not_a_list_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(BatchRejected, match="not a list of rows but dict"):
        validate_rows({"data": []}, tmp_path, CONFIG, CLEANING)

    assert json.loads((tmp_path / "validation.json").read_text())["summary"]["rejected"].startswith("the batch")


# --- any input at all -------------------------------------------------------------------------------


@examples(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(ANY_ROW, max_size=12))
def test_any_rows_get_a_report_and_the_reasons_cleaning_gives(rows: list[Any], tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("any")
    raw = list(enumerate(rows, start=1))
    try:
        outcome = validate_rows(raw, folder, CONFIG, CLEANING, today=TODAY)
    except BatchRejected as rejected:  # the only error validation may raise, with a reason and a report
        outcome = rejected.outcome
        assert isinstance(rejected.reason, str) and rejected.reason
        assert outcome.summary["rejected"] == rejected.reason and outcome.hard_failures == {}
    else:
        _, quarantined = normalise(raw, CLEANING, TODAY)
        by_cleaning = {
            int(i): r for i, r in zip(quarantined["raw_row_id"], quarantined["reason"], strict=True) if r != "duplicate"
        }
        assert outcome.hard_failures == by_cleaning  # the report quarantines what cleaning would, for its reasons
    assert set(outcome.hard_failures) <= {i for i, _ in raw}
    assert all(isinstance(r, str) and r for r in outcome.hard_failures.values())
    assert outcome.summary["rows"] == len(rows) and isinstance(outcome.success, bool)
    document = json.loads(outcome.json_path.read_text())  # the report is always valid JSON and an HTML page
    assert document["summary"]["hard_failures"] == len(outcome.hard_failures)
    assert "<html" in outcome.html_path.read_text().lower()


@pytest.mark.postgres
def test_two_stores_under_one_home_keep_their_own_reports(
    settings: Settings, sqlite_url: str, postgres_url: str
) -> None:
    # A local and a production stack share TASADOR_HOME; each database numbers its first batch 1.
    outcomes = {}
    for url in (sqlite_url, postgres_url):
        store = Store(url)
        batch_id = ingest(store, [LISTING, {**LISTING, "price": None}] if "sqlite" in url else [LISTING])
        outcomes[url] = (batch_id, validate_batch(store, batch_id, settings, CONFIG, CLEANING, TODAY))
        store.dispose()

    (local_id, local), (production_id, production) = outcomes.values()
    assert local_id == production_id == 1
    assert local.html_path.parents[2] == production.html_path.parents[2] == settings.reports_dir
    assert local.html_path != production.html_path
    assert json.loads(local.json_path.read_text())["summary"]["hard_failures"] == 1, "the first report survives"
    assert json.loads(production.json_path.read_text())["summary"]["hard_failures"] == 0
