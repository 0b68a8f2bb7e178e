"""Drift per feature: the generator's scenarios are caught, stationary batches and real-data splits are not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasador.configs import DatasourceConfig, DriftConfig, ReferenceSample
from tasador.data_api.generator import generator_from_config
from tasador.monitoring.drift import beyond, drift_report
from tasador.settings import Settings
from tests.support.benchmark_configs import DriftBenchmark, benchmark_config

BATCH = 1000


@pytest.fixture(scope="module")
def config() -> DriftConfig:
    return Settings().configs.drift


@pytest.fixture(scope="module")
def source_config() -> DatasourceConfig:
    return Settings().configs.datasource


@pytest.fixture(scope="module")
def reference(source_config: DatasourceConfig) -> pd.DataFrame:
    """Stationary batches 1-5 of group 1: what the production model was trained on."""
    stationary = generator_from_config(source_config, scenario="stationary")
    return pd.concat([stationary.batch(1, k, BATCH) for k in range(1, 6)], ignore_index=True)


def _batch(source_config: DatasourceConfig, scenario: str, number: int = 7) -> pd.DataFrame:
    return generator_from_config(source_config, scenario=scenario).batch(1, number, BATCH)


def test_stationary_batch_is_not_flagged(
    config: DriftConfig, source_config: DatasourceConfig, reference: pd.DataFrame
) -> None:
    report = drift_report(reference, _batch(source_config, "stationary"), config)
    assert not report.drifted, report.summary()
    assert {f.name for f in report.features} == {
        "price",
        "bed",
        "bath",
        "acre_lot",
        "house_size",
        "state",
        "status",
    }


@pytest.mark.parametrize(
    ("scenario", "feature", "figure"),
    [("inflation", "price", "KS"), ("new_state", "state", "PSI"), ("size_shift", "house_size", "PSI")],
)
def test_scenario_drift_is_flagged_on_the_feature_it_moves(
    config: DriftConfig,
    source_config: DatasourceConfig,
    reference: pd.DataFrame,
    scenario: str,
    feature: str,
    figure: str,
) -> None:
    report = drift_report(reference, _batch(source_config, scenario), config)
    flagged = report.feature(feature)
    assert flagged.flagged, f"{scenario} not flagged on {feature}: {flagged.figures}"
    assert any(b.startswith(figure) for b in flagged.breaches)
    assert f"{feature} (" in report.summary()


def test_new_state_names_the_share_of_never_seen_categories(
    config: DriftConfig, source_config: DatasourceConfig, reference: pd.DataFrame
) -> None:
    state = drift_report(reference, _batch(source_config, "new_state"), config).feature("state")
    assert state.figures["expected_unseen_share"] < 0.01
    assert 0.15 < state.figures["unseen_share"] < 0.35  # the scenario brings 25% from a held-back state
    assert any("of rows in categories never seen" in b for b in state.breaches)


def test_detection_goals_on_a_small_run(config: DriftConfig, source_config: DatasourceConfig) -> None:
    """What benchmarks/drift_detection.py measures, on fewer groups: each group's stationary batches are the
    reference; the judged batch of every drifted scenario is caught, the stationary one's is not."""
    bench = benchmark_config("drift", DriftBenchmark)
    size, judged = source_config.generator.batch_size, bench.judged_batch
    scenarios = ("stationary", "inflation", "new_state", "size_shift")
    generators = {name: generator_from_config(source_config, scenario=name) for name in scenarios}
    flagged = dict.fromkeys(scenarios, 0)
    groups = range(1, bench.test_groups + 1)
    for group in groups:
        batches = range(1, bench.reference_batches + 1)
        reference = pd.concat([generators["stationary"].batch(group, k, size) for k in batches], ignore_index=True)
        for name, generator in generators.items():
            flagged[name] += drift_report(reference, generator.batch(group, judged, size), config).drifted
    shares = {name: count / len(groups) for name, count in flagged.items()}
    assert shares["stationary"] <= bench.goals.stationary_flagged_max
    for scenario in ("inflation", "new_state", "size_shift"):
        assert shares[scenario] >= bench.goals.drifted_flagged_min, shares


def test_random_halves_of_the_real_sample_do_not_drift(config: DriftConfig, sample_csv: Path) -> None:
    real = pd.read_csv(sample_csv)
    for seed in range(3):
        shuffled = real.sample(frac=1.0, random_state=seed)
        report = drift_report(shuffled.iloc[:8000], shuffled.iloc[8000:9000], config)
        assert not report.drifted, report.summary()


def test_real_prices_up_a_third_are_flagged(config: DriftConfig, sample_csv: Path) -> None:
    real = pd.read_csv(sample_csv).sample(frac=1.0, random_state=0)
    current = real.iloc[8000:9000].assign(price=lambda f: f["price"] * 1.35)
    report = drift_report(real.iloc[:8000], current, config)
    assert [f.name for f in report.flagged] == ["price"]


def test_missing_values_appearing_are_flagged(
    config: DriftConfig, reference: pd.DataFrame, source_config: DatasourceConfig
) -> None:
    current = _batch(source_config, "stationary")
    current.loc[current.index[: BATCH // 2], "bath"] = np.nan
    bath = drift_report(reference, current, config).feature("bath")
    assert bath.flagged
    assert bath.breaches[0].startswith("missing ")
    assert bath.figures["missing_rate_current"] > bath.figures["missing_rate_reference"] + 0.3


def test_target_is_skipped_when_the_batch_has_no_price(config: DriftConfig, reference: pd.DataFrame) -> None:
    requests = reference.sample(500, random_state=1)
    without_column = drift_report(reference, requests.drop(columns=["price"]), config)
    all_missing = drift_report(reference, requests.assign(price=np.nan), config)
    for report in (without_column, all_missing):
        assert "price" not in {f.name for f in report.features}
        assert not report.drifted


def test_too_small_a_batch_is_reported_but_not_judged(config: DriftConfig, reference: pd.DataFrame) -> None:
    tiny = reference.head(int(config.min_rows) - 1).assign(price=lambda f: f["price"] * 10)
    report = drift_report(reference, tiny, config)
    assert not report.drifted
    assert report.feature("price").note.startswith(f"fewer than {config.min_rows} values")


def test_reference_is_subsampled_to_a_fixed_size_the_same_way_every_time(
    config: DriftConfig, reference: pd.DataFrame, source_config: DatasourceConfig
) -> None:
    small = config.model_copy(update={"reference": ReferenceSample(sample_size=2000, seed=7)})
    current = _batch(source_config, "stationary")
    first, second = drift_report(reference, current, small), drift_report(reference, current, small)
    assert first.reference_rows == 2000
    assert first.to_dict() == second.to_dict()


def test_report_is_json_safe(config: DriftConfig, reference: pd.DataFrame, source_config: DatasourceConfig) -> None:
    report = drift_report(reference, _batch(source_config, "size_shift"), config)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["flagged"] == [f.name for f in report.flagged]
    assert data["features"]["house_size"]["log_scale"] is True
    assert data["features"]["house_size"]["flagged"] is True


def test_empty_reference_says_what_to_do(config: DriftConfig, reference: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="reference is empty: train a model first"):
        drift_report(reference.head(0), reference, config)


def test_batch_with_no_clean_rows_gets_a_report_not_an_error(config: DriftConfig, reference: pd.DataFrame) -> None:
    report = drift_report(reference, reference.head(0), config)
    assert not report.drifted
    assert report.current_rows == 0
    assert all(f.note for f in report.features)


def test_a_breach_never_reads_as_equal_to_its_threshold() -> None:
    assert beyond(0.0712, 0.07) == "0.071 > 0.07"
    assert beyond(0.31, 0.1) == "0.31 > 0.1"
    assert beyond(0.10004, 0.1) == "0.10004 > 0.1"
