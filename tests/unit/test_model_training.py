"""Training, the holdout rule, metrics, plots and the SHAP summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasador.configs import LargeDataSearch
from tasador.model import (
    evaluate,
    evaluation_plots,
    shap_summary,
    split_holdout,
    train_baseline,
    train_challenger,
)
from tasador.model.evaluation import price_metrics
from tests.support.listings import clean_listings, quick_config


def test_same_data_and_seed_give_the_same_model() -> None:
    train, holdout = clean_listings(700, seed=5), clean_listings(200, seed=6)
    first = train_challenger(train, quick_config(), seed=11)
    second = train_challenger(train, quick_config(), seed=11)

    assert first.params == second.params
    assert first.best_trial_metrics == second.best_trial_metrics
    assert evaluate(first.predictor.predict, holdout) == evaluate(second.predictor.predict, holdout)


def test_challenger_beats_the_baseline_and_ignores_impossible_prices() -> None:
    train, holdout = clean_listings(1500, seed=7), clean_listings(300, seed=8)
    train.loc[:20, "price"] = 1.0  # placeholder prices, as the feed has
    result = train_challenger(train, quick_config(), seed=0)

    challenger = evaluate(result.predictor.predict, holdout)
    baseline = evaluate(train_baseline(train).predict, holdout)

    assert result.params["train_rows"] == len(train) - 21
    assert challenger["r2_log"] > baseline["r2_log"]
    assert challenger["mdape"] < baseline["mdape"]


def test_too_few_priced_rows_is_a_clear_error() -> None:
    frame = clean_listings(50, seed=1).assign(price=5.0)

    with pytest.raises(ValueError, match="widen price_range"):
        train_challenger(frame, quick_config(), seed=0)


def test_holdout_rule_keeps_rows_on_their_side_as_batches_arrive() -> None:
    config = quick_config().model_copy(update={"holdout_percent": 20})
    first = clean_listings(1000, seed=1)
    grown = pd.concat([first, clean_listings(1000, seed=2)], ignore_index=True)

    _, holdout_before = split_holdout(first, config)
    _, holdout_after = split_holdout(grown, config)

    assert set(holdout_before["row_hash"]) <= set(holdout_after["row_hash"])
    assert set(holdout_after["row_hash"]) & set(first["row_hash"]) == set(holdout_before["row_hash"])
    assert 0.15 < len(holdout_after) / len(grown) < 0.25


def test_holdout_rule_is_the_documented_formula() -> None:
    frame = clean_listings(10).assign(row_hash=["00000013" + "0" * 24, "00000014" + "0" * 24] * 5)
    train, holdout = split_holdout(frame, quick_config().model_copy(update={"holdout_percent": 20}))

    assert set(holdout["row_hash"].str[:8]) == {"00000013"}  # 0x13 = 19 < 20; 0x14 = 20 is not
    assert len(train) == 5


def test_metrics_are_in_dollars_and_percent() -> None:
    metrics = price_metrics(np.array([100_000.0, 200_000.0, 400_000.0]), np.array([110_000.0, 180_000.0, 400_000.0]))

    assert metrics["mae"] == pytest.approx(10_000)
    assert metrics["rmse"] == pytest.approx(np.sqrt((10_000**2 + 20_000**2) / 3))
    assert metrics["mdape"] == pytest.approx(10.0)
    assert 0.9 < metrics["r2_log"] < 1.0


def test_rows_without_a_price_are_left_out_of_the_score() -> None:
    holdout = pd.DataFrame({"price": [100.0, np.nan, 0.0, 300.0]})

    metrics = evaluate(lambda df: df["price"].to_numpy() * 1.1, holdout)

    assert metrics["mdape"] == pytest.approx(10.0)


def test_baseline_falls_back_from_zip_to_state_to_overall() -> None:
    train = pd.DataFrame(
        {
            "zip_code": ["10001", "10001", "90210"],
            "state": ["New York", "New York", "California"],
            "price": [1.0, 3.0, 9.0],
        }
    )
    baseline = train_baseline(train)
    asked = pd.DataFrame({"zip_code": ["10001", "10002", "00000"], "state": ["New York", "New York", "Ohio"]})

    np.testing.assert_array_equal(baseline.predict(asked), [2.0, 2.0, 3.0])


def test_plots_and_shap_summary_are_written(tmp_path: Path) -> None:
    frame = clean_listings(500, seed=3)
    predictor = train_challenger(frame, quick_config(), seed=0).predictor

    plots = evaluation_plots(frame["price"].to_numpy(), predictor.predict(frame), tmp_path / "plots")
    png, js = shap_summary(predictor, frame.head(100), tmp_path / "shap")
    mean_abs = json.loads(js.read_text())

    assert [p.name for p in plots] == ["predicted_vs_actual.png", "residuals.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in [*plots, png])
    assert list(mean_abs) == sorted(mean_abs, key=lambda k: -mean_abs[k])
    assert set(mean_abs) == set(predictor.feature_names)


def test_large_data_runs_the_configured_smaller_search() -> None:
    train = clean_listings(800, seed=9)
    config = quick_config()
    config.search = config.search.model_copy(
        update={"n_trials": 3, "large_data": LargeDataSearch(above_rows=500, n_trials=1)}
    )

    large = train_challenger(train, config, seed=0)
    config.search.large_data = LargeDataSearch(above_rows=10_000, n_trials=1)
    small = train_challenger(train, config, seed=0)

    assert large.params["search_trials"] == 1
    assert small.params["search_trials"] == 3
    assert set(large.phase_cpu_seconds) == {"encode", "search", "fit"}
