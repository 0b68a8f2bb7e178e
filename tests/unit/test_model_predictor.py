"""The Predictor and its MLflow packaging: what the service, the UI and `mlflow models serve` load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasador.model import Predictor, train_challenger
from tasador.schema import FEATURE_COLUMNS
from tests.support.listings import clean_listings, quick_config


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return train_challenger(clean_listings(800, seed=3), quick_config(), seed=7).predictor


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    return clean_listings(40, seed=4)


def test_predictions_are_dollars(predictor: Predictor, listings: pd.DataFrame) -> None:
    prices = predictor.predict(listings)

    np.testing.assert_allclose(np.log(prices), predictor.predict_log(listings))
    assert np.median(np.abs(prices / listings["price"] - 1)) < 0.5


def test_saved_and_loaded_predictor_predicts_the_same(
    predictor: Predictor, listings: pd.DataFrame, tmp_path: Path
) -> None:
    loaded = Predictor.load(predictor.save(tmp_path / "model"))

    np.testing.assert_array_equal(loaded.predict(listings), predictor.predict(listings))


def test_loading_a_folder_that_is_not_a_model_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a saved tasador model"):
        Predictor.load(tmp_path)


def test_explanation_adds_up_to_the_log_prediction(predictor: Predictor, listings: pd.DataFrame) -> None:
    explanation = predictor.explain(listings)

    assert explanation.values.shape == (len(listings), len(predictor.feature_names))
    np.testing.assert_allclose(
        explanation.base_value + explanation.values.sum(axis=1), predictor.predict_log(listings), atol=1e-3
    )
    by_column = explanation.by_column()
    assert set(by_column.columns) <= set(FEATURE_COLUMNS)
    np.testing.assert_allclose(by_column.sum(axis=1), explanation.values.sum(axis=1), atol=1e-6)
