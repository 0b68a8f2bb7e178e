"""The feature encoder: part of the model, so it must survive JSON and never choke on a clean frame."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tasador.model.features import FeatureEncoder
from tasador.schema import FEATURE_COLUMNS
from tests.support.listings import clean_listings


@pytest.fixture(scope="module")
def fitted() -> tuple[FeatureEncoder, pd.DataFrame]:
    frame = clean_listings(600, seed=1)
    return FeatureEncoder(seed=0).fit(frame), frame


def test_encoder_survives_json_unchanged(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    encoder, frame = fitted
    restored = FeatureEncoder.from_dict(json.loads(json.dumps(encoder.to_dict(), allow_nan=False)))

    np.testing.assert_array_equal(restored.transform(frame), encoder.transform(frame))


def test_matrix_is_float32_with_one_column_per_feature_name(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    encoder, frame = fitted
    matrix = encoder.transform(frame)

    assert matrix.dtype == np.float32
    assert matrix.shape == (len(frame), len(encoder.feature_names))


def test_unseen_categories_read_as_unknown_not_as_an_error(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    encoder, frame = fitted
    strange = frame.head(2).assign(zip_code="00000", city="Atlantis", state="Narnia", status="auction", street="7")
    matrix = pd.DataFrame(encoder.transform(strange), columns=encoder.feature_names)

    assert (
        matrix[["zip_log_price", "city_log_price", "state_log_price", "state_code", "status_code"]].isna().all().all()
    )
    assert (matrix["street_count"] == 1).all()  # an unseen street counts this one listing


def test_missing_columns_and_values_do_not_raise(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    encoder, _ = fitted
    only_some = pd.DataFrame({"state": ["Texas"], "house_size": [1500.0]})
    all_missing = pd.DataFrame({c: [None] for c in FEATURE_COLUMNS})

    assert np.isfinite(encoder.transform(only_some)[0]).sum() >= 2
    assert np.isnan(encoder.transform(all_missing)).all()


def test_feed_style_numbers_read_as_the_clean_ids(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    encoder, frame = fitted
    row = frame.head(1)
    as_numbers = row.assign(brokered_by=float(row["brokered_by"].iloc[0]), zip_code=float(row["zip_code"].iloc[0]))

    np.testing.assert_array_equal(encoder.transform(as_numbers), encoder.transform(row))


def test_training_rows_never_see_their_own_price() -> None:
    frame = clean_listings(300, seed=2)
    frame.loc[0, "zip_code"] = "99999"  # a zip code with a single listing
    encoder = FeatureEncoder(seed=0)
    columns = encoder.feature_names
    out_of_fold = pd.DataFrame(encoder.fit_transform(frame), columns=columns)
    at_prediction = pd.DataFrame(encoder.transform(frame), columns=columns)

    assert np.isnan(out_of_fold.loc[0, "zip_log_price"])  # its only price is its own
    assert np.isfinite(at_prediction.loc[0, "zip_log_price"])  # a new listing there may use it


def test_object_columns_with_missing_ids_are_read_without_touching_the_frame(
    fitted: tuple[FeatureEncoder, pd.DataFrame],
) -> None:
    encoder, frame = fitted
    rows = frame.head(3).astype({"street": object, "brokered_by": object})
    rows.loc[rows.index[0], ["street", "brokered_by"]] = None
    before = rows.copy()

    matrix = pd.DataFrame(encoder.transform(rows), columns=encoder.feature_names)

    assert np.isnan(matrix.loc[0, "street_count"]) and np.isnan(matrix.loc[0, "broker_log_price"])
    pd.testing.assert_frame_equal(rows, before)


def test_a_city_is_told_apart_by_its_state_and_needs_both() -> None:
    frame = clean_listings(400, seed=4)
    frame["city"] = "Springfield"
    frame["price"] = np.where(frame["state"] == "California", 900_000.0, 100_000.0)
    encoder = FeatureEncoder(smoothing=1.0, seed=0).fit(frame)
    asked = pd.DataFrame({"city": ["Springfield", "Springfield", "Springfield"], "state": ["California", "Ohio", None]})

    city = pd.DataFrame(encoder.transform(asked), columns=encoder.feature_names)["city_log_price"]

    assert city[0] == pytest.approx(np.log(900_000), abs=0.05)
    assert city[1] == pytest.approx(np.log(100_000), abs=0.05)
    assert np.isnan(city[2])


def test_a_sale_date_reads_as_a_fractional_year(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    encoder, frame = fitted
    dates = pd.to_datetime(["2021-01-01", "2021-07-02", "1965-12-31", None]).astype("datetime64[us]")
    rows = frame.head(4).assign(prev_sold_date=dates)
    years = pd.DataFrame(encoder.transform(rows), columns=encoder.feature_names)["prev_sold_year"]

    expected = [2021.0, 2021 + 182 / 365.25, 1965 + 364 / 365.25, np.nan]  # day of the year counted from 0
    np.testing.assert_allclose(years.to_numpy(dtype=float), np.array(expected, dtype=np.float32), rtol=0)


def test_one_listing_encodes_as_it_does_inside_a_batch(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    encoder, frame = fitted
    batch = encoder.transform(frame)

    for position in (0, 17, len(frame) - 1):
        np.testing.assert_array_equal(encoder.transform(frame.iloc[[position]])[0], batch[position])


def test_columns_by_name_encode_as_their_frame(fitted: tuple[FeatureEncoder, pd.DataFrame]) -> None:
    # The service hands the encoder plain columns, training and evaluation a frame: the same prices either way.
    encoder, frame = fitted
    without_street = frame.drop(columns="street")
    columns = {c: without_street[c].to_numpy() for c in FEATURE_COLUMNS if c != "street"}

    np.testing.assert_array_equal(encoder.transform(columns), encoder.transform(without_street))
    assert encoder.transform({}).shape == (0, len(encoder.feature_names))
