"""Production priced on a batch: the decay trigger fires on a real rise, not on a small batch's noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasador.configs import DriftConfig
from tasador.monitoring.production_check import score_production
from tasador.settings import Settings

STATES = ["Texas", "Ohio", "Florida", "Maine"]


@pytest.fixture(scope="module")
def config() -> DriftConfig:
    return Settings().configs.drift


def listings(rows: int, seed: int, inflation: float = 0.0, states: list[str] | None = None) -> pd.DataFrame:
    """Rows whose `prediction` is a model's: right on average, off by ~25 % per row, blind to inflation."""
    rng = np.random.default_rng(seed)
    value = np.exp(rng.normal(12.6, 0.8, rows))
    return pd.DataFrame(
        {
            "price": (value * np.exp(rng.normal(0, 0.35, rows)) * (1 + inflation)).round(-2),
            "prediction": value,
            "state": rng.choice(states or STATES, rows),
            "status": rng.choice(["for_sale", "sold"], rows),
            "city": rng.choice(["a", "b", "c"], rows),
            "zip_code": rng.choice(["10001", "10002", "20001"], rows),
        }
    )


def predict(frame: pd.DataFrame) -> np.ndarray:
    return frame["prediction"].to_numpy()


def score(batch: pd.DataFrame, config: DriftConfig):
    known = listings(5_000, seed=1)
    return score_production("3", predict, known, known.iloc[:1_000], batch, config)


def test_inflation_fires_decay_and_names_where_the_error_rose(config: DriftConfig) -> None:
    result = score(listings(1_000, seed=2, inflation=0.25), config)
    assert result.decay.fired
    decay = result.decay
    # Prices 25 % up with the same inputs: production now prices 20 % low on the median, beyond the line.
    assert decay.bias_high < decay.holdout_bias - config.decay.max_bias
    assert decay.batch_bias == pytest.approx(-20, abs=3)
    assert decay.bias_low < decay.batch_bias < decay.bias_high
    assert decay.mdape_low < decay.batch_mdape < decay.mdape_high
    assert f"median error {decay.batch_bias:+.1f}%" in decay.describe()
    assert len(result.segments) == config.decay.segments.top
    assert all(s.mdape_after > s.mdape_before for s in result.segments)
    assert "→" in result.where()


def test_a_stationary_batch_does_not_fire(config: DriftConfig) -> None:
    result = score(listings(1_000, seed=3), config)
    assert not result.decay.fired
    assert result.batch.rows == 1_000 and result.holdout.rows == 1_000


def test_small_stationary_batches_rarely_fire_on_noise(config: DriftConfig) -> None:
    """500-row batches of the holdout's own distribution: the bootstrap bound keeps false alarms <= 5 %."""
    fired = [score(listings(500, seed=100 + k), config).decay.fired for k in range(40)]
    assert sum(fired) / len(fired) <= 0.05


def test_a_state_never_seen_is_named_with_its_share(config: DriftConfig) -> None:
    batch = listings(1_000, seed=4, states=[*STATES, "Puerto Rico"])
    result = score(batch, config)
    states = next(u for u in result.unseen if u.column == "state")
    assert states.examples == ["Puerto Rico"]
    assert states.share == pytest.approx((batch["state"] == "Puerto Rico").mean())
    assert "state Puerto Rico (" in result.never_seen()
