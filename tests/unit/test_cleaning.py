"""Cleaning: rows as received -> typed CLEAN rows or quarantine with a reason; never both, never neither."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasador.cleaning.clean import CLEAN_FRAME_COLUMNS, clean_batch, normalise
from tasador.schema import COLUMNS, STATES, Batch
from tasador.settings import Settings
from tasador.store import Store

CONFIG = Settings().configs.cleaning
TODAY = dt.date(2026, 11, 23)

LISTING: dict[str, Any] = {
    "brokered_by": 40618.0,
    "status": "for_sale",
    "price": 239800.0,
    "bed": 3.0,
    "bath": 2.0,
    "acre_lot": 0.28,
    "street": 1693508.0,
    "city": "Graham",
    "state": "North Carolina",
    "zip_code": 2127.0,
    "house_size": 1105.0,
    "prev_sold_date": "2021-10-22",
}


def listing(**changes: Any) -> dict[str, Any]:
    return {**LISTING, **changes}


def run(rows: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return normalise(list(enumerate(rows, start=1)), CONFIG, today=TODAY)


def test_a_listing_is_typed_as_the_contract_says() -> None:
    clean, quarantined = run([LISTING])

    assert quarantined.empty
    assert list(clean.columns) == list(CLEAN_FRAME_COLUMNS)
    row = clean.iloc[0]
    assert (row["brokered_by"], row["street"], row["zip_code"]) == ("40618", "1693508", "02127")
    assert (row["status"], row["city"], row["state"]) == ("for_sale", "Graham", "North Carolina")
    assert row["price"] == 239800.0 and row["bed"] == 3.0 and row["acre_lot"] == 0.28
    assert row["prev_sold_date"] == pd.Timestamp("2021-10-22")
    assert pd.api.types.is_datetime64_any_dtype(clean["prev_sold_date"])
    assert len(row["row_hash"]) == 32 and int(row["row_hash"], 16) >= 0


def test_every_spelling_of_the_same_listing_reads_the_same() -> None:
    spellings = [
        {k.upper(): v for k, v in LISTING.items()},
        {
            "Brokered By": "40618",
            "Status": "For Sale",
            "PRICE": "$239,800",
            "bed": "3",
            "bath": 2,
            "acre-lot": "0.28",
            "street": "1693508.0",
            "city": " graham ",
            "state": "NORTH CAROLINA",
            "zip_code": "02127",
            "house_size": "1,105",
            "prev_sold_date": "10/22/2021",
            "extra": "ignored",
        },
        listing(zip_code="2127.0", prev_sold_date="2021-10-22T00:00:00"),
        listing(zip_code="02127-4321", brokered_by=40618),
    ]

    clean, quarantined = run([LISTING, *spellings])

    assert len(clean) == 1, "every spelling normalises to the same row, so all but the first are duplicates"
    assert quarantined["reason"].tolist() == ["duplicate"] * len(spellings)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (None, "row is not an object"),
        ([1, 2, 3], "row has 3 values; the feed's 12 columns are expected"),
        ([*map(str, LISTING.values()), "extra"], "row has 13 values; the feed's 12 columns are expected"),
        ("price=1", "row is not an object"),
        (listing(price=None), "price missing"),
        ({k: v for k, v in LISTING.items() if k != "price"}, "price missing"),
        (listing(price="NaN"), "price missing"),
        (listing(price=0), "price <= 0"),
        (listing(price=-5), "price <= 0"),
        (listing(price=2e8), "price above 100000000"),
        (listing(price="abc"), "price not a number: 'abc'"),
        (listing(price=float("inf")), "price not a number: inf"),
        (listing(bed="abc"), "bed not a number: 'abc'"),
        (listing(bed=True), "bed not a number: True"),
        (listing(bath=[2]), "bath not a number: [2]"),
        (listing(bed=-1), "bed negative"),
        (listing(bed=500), "bed above 100"),
        (listing(house_size=-3), "house_size negative"),
        (listing(house_size=0), "house_size <= 0"),
        (listing(acre_lot=-0.5), "acre_lot negative"),
        (listing(state="Xyz"), "unknown state 'Xyz'"),
        (listing(state=None), "state missing"),
        (listing(state=7), "state not text: 7"),
        (listing(city="\ud800"), "city not text: '\\ud800'"),  # a lone surrogate: valid JSON, no database text
        (listing(status="pending"), "unknown status 'pending'"),
        (listing(zip_code="abc"), "zip_code not a zip code: 'abc'"),
        (listing(zip_code=123456), "zip_code not a zip code: 123456"),
        (listing(zip_code=0), "zip_code not a zip code: 0"),
        (listing(street=1.5), "street not an integer id: 1.5"),
        (listing(brokered_by=-4), "brokered_by not an integer id: -4"),
        (listing(prev_sold_date="yesterday"), "prev_sold_date not a date: 'yesterday'"),
        (listing(prev_sold_date=20211022), "prev_sold_date not a date: 20211022"),
        (listing(prev_sold_date="1850-01-01"), "prev_sold_date before 1900-01-01"),
        (listing(prev_sold_date="2027-01-01"), "prev_sold_date after 2026-11-23"),
    ],
)
def test_impossible_values_are_quarantined_with_their_reason(row: Any, reason: str) -> None:
    clean, quarantined = run([row])

    assert clean.empty
    assert quarantined.to_dict("records") == [{"raw_row_id": 1, "stage": "cleaning", "reason": reason}]


def as_course_array(row: dict[str, Any]) -> list[str]:
    """A listing as some course data APIs send it: values as text in the feed's column order, "" for missing."""
    return ["" if row[column] is None else str(row[column]) for column in COLUMNS]


def test_a_row_sent_as_an_array_of_text_reads_as_the_same_listing() -> None:
    clean, quarantined = run([as_course_array(listing(bed=None)), listing(bed=None)])

    assert quarantined["reason"].tolist() == ["duplicate"], "the array and the object are the same listing"
    row = clean.iloc[0]
    assert (row["brokered_by"], row["zip_code"], row["price"], row["state"]) == (
        "40618",
        "02127",
        239800.0,
        "North Carolina",
    )
    assert pd.isna(row["bed"]), '"" is a missing value'


def test_missing_optional_values_are_kept_as_missing() -> None:
    clean, quarantined = run([listing(bed=None, bath="", house_size="null", zip_code=None, prev_sold_date=None)])

    assert quarantined.empty
    row = clean.iloc[0]
    assert pd.isna(row["bed"]) and pd.isna(row["bath"]) and pd.isna(row["house_size"])
    assert pd.isna(row["zip_code"]) and pd.isna(row["prev_sold_date"])


def test_the_first_broken_rule_is_the_reason() -> None:
    _, quarantined = run([listing(price=-1, state="Xyz", bed="many")])

    # A value that cannot be read comes before any rule; among rules, the config's order decides.
    assert quarantined["reason"].tolist() == ["bed not a number: 'many'"]
    _, quarantined = run([listing(price=-1, state="Xyz")])
    assert quarantined["reason"].tolist() == ["price <= 0"]


# --- any input at all -------------------------------------------------------------------------------

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["Texas", "texas", "Xyz", "for_sale", "Sold", "2021-10-22", "02127", "2127.0", "1e400", "$1,200"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
ANY_KEY = st.one_of(st.sampled_from(COLUMNS), st.sampled_from([c.upper() for c in COLUMNS]), st.text(max_size=6))
ANY_ROW = st.one_of(
    st.dictionaries(ANY_KEY, ANY_VALUE, max_size=14),
    st.builds(lambda changes: {**LISTING, **changes}, st.dictionaries(st.sampled_from(COLUMNS), ANY_VALUE, max_size=3)),
    ANY_VALUE,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ANY_ROW, max_size=25))
def test_any_rows_give_typed_clean_rows_and_reasons_that_add_up(rows: list[Any]) -> None:
    clean, quarantined = run(rows)

    ids = list(range(1, len(rows) + 1))
    assert sorted([*clean["raw_row_id"], *quarantined["raw_row_id"]]) == ids
    assert quarantined["reason"].map(lambda r: isinstance(r, str) and r != "").all()
    assert clean["row_hash"].is_unique and clean["row_hash"].str.fullmatch(r"[0-9a-f]{32}").all()
    for column in ("price", "bed", "bath", "acre_lot", "house_size"):
        assert clean[column].dtype == "float64"
    assert (clean["price"] > 0).all()
    assert clean["state"].isin(STATES).all()
    assert clean["zip_code"].dropna().str.fullmatch(r"\d{5}").all()
    assert clean["brokered_by"].dropna().str.fullmatch(r"\d+").all()
    assert pd.api.types.is_datetime64_any_dtype(clean["prev_sold_date"])


# --- a batch from RAW to CLEAN ---------------------------------------------------------------------------

MALFORMED = [
    LISTING,
    listing(city="Durham", price="310000"),
    listing(city="durham", price="310,000.0"),  # the row above once normalised
    None,
    ["not", "an", "object"],
    listing(price=-1),
    listing(price=None),
    listing(bed="three"),
    {"PRICE": 1, "State": "ohio", "unknown_field": True},
    listing(state="Atlantis"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    db = Store(url)
    yield db
    db.dispose()


def ingest(store: Store, rows: list[Any], number: int = 1) -> int:
    return store.ingest_raw(Batch(source="test", group_number=1, batch_number=number, rows=rows)).batch_id


def test_a_malformed_batch_loses_no_row(store: Store) -> None:
    batch_id = ingest(store, MALFORMED)

    summary = clean_batch(store, batch_id, CONFIG, today=TODAY)

    assert (summary.rows_in, summary.clean, summary.quarantined) == (10, 3, 7)
    assert store.count("clean_rows", batch_id) + store.count("quarantine", batch_id) == len(MALFORMED)
    assert store.quarantine_counts(batch_id) == {
        "row is not an object": 1,
        "row has 3 values; the feed's 12 columns are expected": 1,
        "duplicate": 1,
        "price <= 0": 1,
        "price missing": 1,
        "bed not a number: 'three'": 1,
        "unknown state 'Atlantis'": 1,
    }
    assert summary.top_reasons["row is not an object"] == 1
    assert store.batch(batch_id).status == "cleaned"
    assert sorted(store.clean_frame([batch_id])["state"]) == ["North Carolina", "North Carolina", "Ohio"]


def test_a_lone_surrogate_read_back_from_raw_is_quarantined_rather_than_crashing_the_run(store: Store) -> None:
    batch_id = ingest(store, [listing(city="\ud800"), listing()])

    summary = clean_batch(store, batch_id, CONFIG, today=TODAY)

    assert (summary.clean, summary.quarantined) == (1, 1)
    assert store.quarantine_counts(batch_id) == {"city not text: '\\ud800'": 1}


def test_cleaning_a_batch_again_changes_nothing(store: Store) -> None:
    batch_id = ingest(store, MALFORMED)
    first = clean_batch(store, batch_id, CONFIG, today=TODAY)
    before = store.clean_frame([batch_id]).drop(columns="id")

    again = clean_batch(store, batch_id, CONFIG, today=TODAY)

    assert again == first
    pd.testing.assert_frame_equal(store.clean_frame([batch_id]).drop(columns="id"), before)
    assert store.count("quarantine", batch_id) == first.quarantined


def test_a_listing_already_in_clean_is_a_duplicate_in_a_later_batch(store: Store) -> None:
    clean_batch(store, ingest(store, [LISTING], number=1), CONFIG, today=TODAY)
    later = ingest(store, [listing(city="GRAHAM"), listing(price=1.0)], number=2)

    summary = clean_batch(store, later, CONFIG, today=TODAY)

    assert (summary.clean, summary.quarantined) == (1, 1)
    assert store.quarantine_counts(later) == {"duplicate": 1}
    assert store.count("clean_rows") == 2


def test_validation_failures_are_quarantined_at_stage_validation(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    batch_id = ingest(store, [LISTING, listing(price=-1), listing(city="Durham")])
    raw_ids = [row_id for row_id, _ in store.raw_rows(batch_id)]

    summary = clean_batch(store, batch_id, CONFIG, {raw_ids[1]: "price <= 0", 999_999: "not in this batch"}, TODAY)

    assert (summary.rows_in, summary.clean, summary.quarantined) == (3, 2, 1)
    with store.engine.connect() as conn:
        stages = conn.exec_driver_sql("SELECT raw_row_id, stage, reason FROM quarantine").all()
    assert stages == [(raw_ids[1], "validation", "price <= 0")]
    store.dispose()
