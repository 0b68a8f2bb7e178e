"""The service's fast path gives the same prices as the frame path, and its cheap bookkeeping loses nothing.

The service encodes validated listings without pandas (FeatureEncoder.transform_records), observes a
batch's prices per bucket and appends log rows as tuples. Each is checked here against the plain way it replaces.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, select

from tasador.model.features import ROW_BY_ROW_MAX_ROWS
from tasador.model.predictor import Predictor
from tasador.schema import STATES, STATUSES
from tasador.serving.config import load_serving_config
from tasador.serving.frames import listings_frame
from tasador.serving.inference_log import InferenceLog
from tasador.serving.metrics import ServiceMetrics
from tasador.serving.schemas import Listing, batch_model
from tasador.store import tables as t
from tests.support.listings import clean_listings
from tests.support.service import train_predictor

TRAINING = clean_listings(600, seed=5)


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return train_predictor(TRAINING)


def _known(column: str) -> st.SearchStrategy[Any]:
    """Values seen in training (so look-ups hit), for a column of TRAINING."""
    return st.sampled_from(sorted(TRAINING[column].dropna().astype(str).unique()))


def _digits(max_size: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=1, max_size=max_size)


# Requests as clients send them: known and unseen ids, ids as numbers, zeros, the bounds, missing fields.
LISTING = st.fixed_dictionaries(
    {
        "status": st.sampled_from(STATUSES),
        "state": st.sampled_from(STATES).map(lambda s: s.lower() if len(s) % 2 else s) | _known("state"),
    },
    optional={
        "brokered_by": st.none() | _known("brokered_by") | _digits(8) | st.integers(0, 10**9),
        "bed": st.none() | st.sampled_from([0, 0.01, 3, 100]) | st.floats(0.01, 100),
        "bath": st.none() | st.sampled_from([0, 1.5, 100]) | st.floats(0.01, 100),
        "acre_lot": st.none() | st.sampled_from([0, 1e-6, 999_999.0]) | st.floats(1e-6, 999_999),
        "street": st.none() | _known("street") | _digits(10),
        "city": st.none() | _known("city") | st.text(max_size=20),
        # 00000 is no zip code (cleaning quarantines it; the service refuses it with the same reason).
        "zip_code": st.none()
        | _known("zip_code")
        | _digits(5).map(lambda d: d.zfill(5)).filter(lambda z: z != "00000")
        | st.integers(1, 99_999),
        "house_size": st.none() | st.floats(1e-3, 999_999) | st.sampled_from([1e-300, 999_999.9]),
        "prev_sold_date": st.none() | st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat),
    },
)
REQUEST = batch_model("PredictRequest", 1000)


def _validated(listings: list[dict[str, Any]]) -> list[Listing]:
    return list(REQUEST.model_validate({"listings": listings}).listings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(listings=st.lists(LISTING, min_size=1, max_size=2 * ROW_BY_ROW_MAX_ROWS + 3))
def test_records_give_the_matrix_of_the_frame_path(predictor: Predictor, listings: list[dict[str, Any]]) -> None:
    validated = _validated(listings)
    records = [vars(listing) for listing in validated]
    expected = predictor.encoder.transform(listings_frame(validated))

    # Row by row (a few records) and column by column (many): both the frame path's matrix, NaN for NaN.
    np.testing.assert_array_equal(predictor.encoder.transform_records(records), expected)
    one_by_one = np.vstack([predictor.encoder.transform_records([record]) for record in records])
    np.testing.assert_array_equal(one_by_one, expected)


def test_service_prices_are_the_frame_path_prices(predictor: Predictor) -> None:
    listings = TRAINING.drop(columns=["price", "raw_row_id", "row_hash"]).head(300)
    listings = listings.assign(prev_sold_date=listings["prev_sold_date"].dt.date.astype(str))
    validated = _validated([{k: v for k, v in row.items() if v == v} for row in listings.to_dict("records")])
    records = [vars(listing) for listing in validated]

    frame_prices = predictor.predict(listings_frame(validated))
    np.testing.assert_array_equal(predictor.predict_records(records), frame_prices)
    np.testing.assert_array_equal(predictor.predict_records(records[:1]), frame_prices[:1])
    assert predictor.predict_records([]).shape == (0,)


def _samples(prices: list[float], one_by_one: bool) -> dict[tuple[str, tuple[Any, ...]], float]:
    registry = CollectorRegistry()
    metrics = ServiceMetrics(load_serving_config().metrics, registry)
    if one_by_one:
        for price in prices:
            metrics.predicted_price.observe(price)
        metrics.predictions.labels(model_version="3").inc(len(prices))
    else:
        metrics.predicted("3", prices)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")  # when each registry was made
    }


@pytest.mark.parametrize("count", [1, 9, 1000])
def test_a_batch_of_prices_is_observed_as_one_by_one(count: int) -> None:
    bounds = load_serving_config().metrics.price_buckets
    rng = np.random.default_rng(count)
    # Bucket bounds exactly, just around them, and beyond the last bucket.
    prices = [*bounds, *(b * 1.000001 for b in bounds), 1e12, *rng.lognormal(12.5, 1.2, count)][:count]

    bulk, one_by_one = _samples(prices, one_by_one=False), _samples(prices, one_by_one=True)
    assert bulk.keys() == one_by_one.keys()
    for key, value in one_by_one.items():
        # Counts exactly; the sum of prices up to the order of the additions.
        assert bulk[key] == pytest.approx(value, rel=1e-12), key


def test_logged_rows_reach_the_database_with_their_listing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'raw.db'}"
    log = InferenceLog(url, tmp_path / "spill", load_serving_config().inference_log)
    log.start()
    received = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    listings = [{"state": "Texas", "status": "sold", "bed": 3}, {"state": "Ohio", "status": "for_sale"}]
    log.record("req-1", listings, [250_000.0, 99_000.5], "7", received)
    with pytest.raises(ValueError, match="2 listings but 1 predictions"):
        log.record("req-2", listings, [1.0], "7", received)
    log.stop()  # writes what is buffered

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.inference_log).order_by(t.inference_log.c.row_index)).mappings().all()
    engine.dispose()
    assert [(r["request_id"], r["row_index"], r["model_version"], r["prediction"]) for r in rows] == [
        ("req-1", 0, "7", 250_000.0),
        ("req-1", 1, "7", 99_000.5),
    ]
    assert json.loads(rows[0]["inputs"]) == listings[0]
