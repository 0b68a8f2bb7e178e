"""The synthetic generator: deterministic, calibrated, learnable, and drifting where a scenario says so."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tasador.configs import DatasourceConfig
from tasador.data_api.calibrate import calibrate
from tasador.data_api.feeds import build_feed
from tasador.data_api.generator import ListingGenerator, generator_from_config, load_calibration
from tasador.data_api.scenarios import load_scenario
from tasador.schema import COLUMNS, STATES
from tasador.settings import Settings

ROWS = 20_000


@pytest.fixture(scope="module")
def config() -> DatasourceConfig:
    return Settings().configs.datasource


@pytest.fixture(scope="module")
def generators(config: DatasourceConfig) -> dict[str, ListingGenerator]:
    return {name: generator_from_config(config, scenario=name, seed=11) for name in config.scenarios}


@pytest.fixture(scope="module")
def stationary(generators: dict[str, ListingGenerator]) -> pd.DataFrame:
    return generators["stationary"].batch(1, 1, ROWS)


def log_price(frame: pd.DataFrame) -> pd.Series:
    return np.log(frame["price"].dropna())


def test_same_seed_same_rows_and_batches_do_not_depend_on_earlier_calls(config) -> None:
    first = generator_from_config(config, scenario="demo", seed=5)
    second = generator_from_config(config, scenario="demo", seed=5)
    late = first.batch(2, 9, 500)
    for k in range(1, 9):
        second.batch(2, k, 500)
    pd.testing.assert_frame_equal(late, second.batch(2, 9, 500))
    assert not generator_from_config(config, scenario="demo", seed=6).batch(2, 9, 500).equals(late)
    assert not first.batch(3, 9, 500).equals(late)  # another group gets other listings


def test_large_batches_stream_in_chunks_with_the_same_rows(config) -> None:
    small_chunks = generator_from_config(
        config.model_copy(update={"generator": config.generator.model_copy(update={"chunk_rows": 700})}), seed=1
    )
    chunks = list(small_chunks.iter_batch(1, 1, 2_000))
    assert [len(c) for c in chunks] == [700, 700, 600]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), small_chunks.batch(1, 1, 2_000))


def test_rows_look_like_the_feed(stationary: pd.DataFrame) -> None:
    assert tuple(stationary.columns) == COLUMNS
    for column in ("brokered_by", "street", "zip_code"):
        ids = stationary[column].dropna()
        assert ids.dtype == float and (ids == ids.round()).all(), column
    assert (stationary["zip_code"] < 10_000).any()  # New England zip codes lost their leading zero
    assert set(stationary["state"]) <= set(STATES)
    dates = stationary["prev_sold_date"].dropna()
    assert dates.map(lambda d: re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) is not None).all()
    prices = stationary["price"].dropna()
    assert prices.min() >= 1 and prices.max() > 5_000_000
    assert 200_000 < prices.median() < 500_000


def test_missing_rates_follow_the_calibration(stationary: pd.DataFrame) -> None:
    calibrated = load_calibration()["missing_rates"]
    observed = stationary.isna().mean()
    for column in COLUMNS:
        assert observed[column] == pytest.approx(calibrated[column], abs=0.015), column


def test_every_zip_code_keeps_its_state_and_city(generators: dict[str, ListingGenerator]) -> None:
    frames = pd.concat([generators["stationary"].batch(g, k, 5_000) for g, k in [(1, 1), (2, 7)]])
    places = frames.dropna(subset=["zip_code", "city"]).groupby("zip_code")[["state", "city"]].nunique()
    assert (places == 1).all().all()


def test_price_can_be_learned_from_the_listing(stationary: pd.DataFrame) -> None:
    houses = stationary.dropna(subset=["price", "house_size", "bath"])
    houses = houses[houses["price"] > 10_000]
    state_mean = np.log(houses["price"]).groupby(houses["state"]).transform("mean")
    design = np.column_stack([np.ones(len(houses)), state_mean, np.log(houses["house_size"]), houses["bath"]])
    target = np.log(houses["price"]).to_numpy()
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    r2 = 1 - np.var(target - design @ coef) / np.var(target)
    assert r2 > 0.4
    assert coef[2] > 0  # bigger houses cost more


def test_inflation_raises_prices_measurably(generators, stationary) -> None:
    inflated = generators["inflation"].batch(1, 6, ROWS)
    assert stats.ks_2samp(log_price(stationary), log_price(inflated)).pvalue < 0.01
    assert log_price(inflated).median() > log_price(stationary).median() + 0.1
    calm = generators["stationary"].batch(1, 6, ROWS)
    assert stats.ks_2samp(log_price(stationary), log_price(calm)).pvalue > 0.01


def test_new_state_appears_only_after_it_starts(generators, config) -> None:
    effect = config.scenarios["new_state"][0]
    newcomer = effect.states[0]
    before = generators["new_state"].batch(1, effect.start_batch - 1, 5_000)
    after = generators["new_state"].batch(1, effect.start_batch + 1, 5_000)
    assert (before["state"] == newcomer).sum() == 0
    assert (after["state"] == newcomer).mean() == pytest.approx(effect.share, abs=0.03)


def test_size_shift_moves_the_size_mix(generators, stationary) -> None:
    shifted = generators["size_shift"].batch(1, 6, ROWS)
    assert shifted["house_size"].median() > 1.15 * stationary["house_size"].median()
    assert shifted["bed"].mean() > stationary["bed"].mean()


def test_demo_is_calm_first_then_drifts(generators, config) -> None:
    first_drift = min(e.start_batch for e in config.scenarios["demo"])
    calm = generators["demo"].batch(1, first_drift - 1, 2_000)
    pd.testing.assert_frame_equal(calm, generators["stationary"].batch(1, first_drift - 1, 2_000))
    last = config.generator.batches
    drifted = generators["demo"].batch(1, last, ROWS)
    reference = generators["stationary"].batch(1, last, ROWS)
    assert stats.ks_2samp(log_price(reference), log_price(drifted)).pvalue < 0.01


def test_unknown_scenario_names_the_known_ones(config) -> None:
    with pytest.raises(ValueError, match="stationary"):
        load_scenario("crash", config.scenarios)


def test_messy_feed_mixes_formats(config) -> None:
    rows = build_feed(config, seed=2, batch_size=500, batches=1, messy=True).rows(1, 1)
    tidy = build_feed(config, seed=2, batch_size=500, batches=1).rows(1, 1)
    assert len(rows) == len(tidy)
    assert any(isinstance(r["state"], str) and r["state"].islower() for r in rows)
    assert any(isinstance(r["zip_code"], str) and re.fullmatch(r"\d{5}", r["zip_code"]) for r in rows)
    assert all(isinstance(r["zip_code"], float | None) for r in tidy)


def test_calibration_file_is_what_the_real_sample_gives(sample_csv: Path, config) -> None:
    fresh = calibrate(sample_csv, config.calibration)
    stored = load_calibration()
    assert fresh["source"]["sha256"] == stored["source"]["sha256"]
    assert fresh["missing_rates"] == stored["missing_rates"]
    assert fresh["price_model"] == stored["price_model"]
