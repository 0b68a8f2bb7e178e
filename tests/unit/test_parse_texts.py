"""Rows as RAW keeps them (JSON texts) read by Arrow give exactly what `parse_rows` gives for the parsed rows."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tasador.cleaning.parsing import ParsedRows, parse_rows, parse_texts
from tasador.data_api.generator import generator_from_config
from tasador.ingest.batch import Batch
from tasador.ingest.feeds import frame_to_rows
from tasador.schema import COLUMNS
from tasador.settings import Settings
from tasador.store import rows_json, tables
from tasador.store.bulk import insert_json_texts
from tasador.store.store import Store

CONFIG = Settings().configs.cleaning
TEXT_FIELDS = ("status", "city", "state", "prev_sold_date")


def _both_ways(rows: list) -> tuple[ParsedRows, ParsedRows]:
    texts = [rows_json.dumps(row) for row in rows]
    ids = list(range(100, 100 + len(rows)))
    rows_read = rows_json.loads_joined(",".join(texts))
    return parse_texts(ids, texts, CONFIG), parse_rows(list(zip(ids, rows_read, strict=True)), CONFIG)


def _assert_same(fast: ParsedRows, slow: ParsedRows) -> None:
    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    pd.testing.assert_series_equal(fast.unreadable, slow.unreadable)
    assert fast.fields_received == slow.fields_received


def test_a_generated_batch_is_read_by_arrow_into_what_parse_rows_gives() -> None:
    generator = generator_from_config(Settings().configs.datasource, scenario="stationary")
    rows = frame_to_rows(generator.batch(1, 1, 5_000))
    assert rows_json.read_objects([rows_json.dumps(r) for r in rows], TEXT_FIELDS) is not None  # the fast path
    fast, slow = _both_ways(rows)
    _assert_same(fast, slow)
    assert len(fast.frame) == 5_000 and fast.frame["price"].notna().any()


numbers = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**62), 2**62))
texts = st.one_of(st.none(), st.text(max_size=12))
canonical_row = st.fixed_dictionaries({column: (texts if column in TEXT_FIELDS else numbers) for column in COLUMNS})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(canonical_row, min_size=1, max_size=30))
def test_canonical_rows_of_any_values_read_the_same_either_way(rows: list[dict]) -> None:
    _assert_same(*_both_ways(rows))


@pytest.mark.parametrize(
    "rows",
    [
        [{"price": 1.0}, None],  # a row that is not an object
        [{"price": 1.0}, {"price": "2"}],  # a field that changes type
        [{"price": 2**70}],  # beyond 64 bits
        [{"price": float("nan"), "street": 2**70}],  # written by json as NaN
        [{"city": "\ud800"}],  # a lone surrogate
        [{"price": True}],
        [{"Price": 1.0}],  # not the canonical name: read by parse_rows, which renames it
        [],
    ],
    ids=["null row", "type change", "huge int", "NaN", "surrogate", "bool", "renamed", "empty"],
)
def test_rows_arrow_would_read_otherwise_go_through_parse_rows(rows: list) -> None:
    _assert_same(*_both_ways(rows))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_raw_keeps_the_texts_exactly_whatever_they_hold(backend: str, request: pytest.FixtureRequest) -> None:
    store = Store(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url"))
    try:
        rows = [{"city": "new\nline\ttab \\ back\\slash \\N", "price": 1.0}, ["not", "an object"], "text", None]
        batch_id = store.ingest_raw(Batch("test", 1, 1, rows)).batch_id
        ids, stored = store.raw_texts(batch_id)
        assert stored == [rows_json.dumps(row) for row in rows] and len(ids) == len(rows)
        assert [row for _, row in store.raw_rows(batch_id)] == rows
        # Texts no JSON writer makes (a raw tab, newline, carriage return) are kept too: escaped one by one.
        odd = ["a\tb", "c\nd", "e\rf\\", "\\N"]
        with store.engine.begin() as conn:
            insert_json_texts(conn, tables.raw_rows, 999, odd)
        with store.engine.connect() as conn:
            query = select(tables.raw_rows.c.payload).where(tables.raw_rows.c.batch_id == 999)
            assert conn.execute(query.order_by(tables.raw_rows.c.row_index)).scalars().all() == odd
    finally:
        store.dispose()


def test_a_lone_surrogate_is_quarantined_as_not_text_rather_than_crashing_the_run() -> None:
    fast, _ = _both_ways([{"city": "\ud800", "price": 1.0}])
    assert fast.unreadable.tolist() == ["city not text: '\\ud800'"]
