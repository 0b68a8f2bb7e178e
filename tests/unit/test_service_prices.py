"""The service prices any request it accepts, and a listing's price does not depend on the rest of its request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasador.model.predictor import Predictor
from tasador.schema import STATES, STATUSES
from tasador.serving.columns import listings_columns
from tasador.serving.schemas import Listing, batch_model
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
@given(listings=st.lists(LISTING, min_size=1, max_size=40))
def test_any_validated_request_is_priced(predictor: Predictor, listings: list[dict[str, Any]]) -> None:
    columns = listings_columns(_validated(listings))

    matrix = predictor.encoder.transform(columns)
    prices = predictor.predict(columns)

    # Unseen ids, ids sent as numbers, zeros, the bounds, missing fields: a price for each, never an error.
    assert matrix.dtype == np.float32 and matrix.shape == (len(listings), len(predictor.feature_names))
    assert not np.isinf(matrix).any()
    assert prices.shape == (len(listings),) and np.isfinite(prices).all() and (prices > 0).all()


def test_a_request_prices_as_its_listings_one_by_one(predictor: Predictor) -> None:
    listings = TRAINING.drop(columns=["price", "raw_row_id", "row_hash"]).head(300)
    listings = listings.assign(prev_sold_date=listings["prev_sold_date"].dt.date.astype(str))
    validated = _validated([{k: v for k, v in row.items() if v == v} for row in listings.to_dict("records")])

    together = predictor.predict(listings_columns(validated))
    one_by_one = np.concatenate([predictor.predict(listings_columns([listing])) for listing in validated[:20]])
    np.testing.assert_allclose(one_by_one, together[:20], rtol=1e-6)
    assert predictor.predict(listings_columns([])).shape == (0,)
