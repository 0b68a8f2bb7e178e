"""The retrain rule: each trigger on its own, the quiet case, and reasons a person can act on."""

from __future__ import annotations

import pytest

from tasador.decision import decide
from tasador.drift import DriftReport, FeatureDrift
from tasador.settings import load_config


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config("drift")


def _report(*flagged: tuple[str, tuple[str, ...]]) -> DriftReport:
    features = [FeatureDrift("bed", "numeric", {"psi": 0.01})]
    features += [FeatureDrift(name, "numeric", {}, breaches) for name, breaches in flagged]
    return DriftReport(reference_rows=20_000, current_rows=1_000, features=tuple(features))


def test_no_production_model_means_retrain(config: dict) -> None:
    decision = decide(False, None, 1_000, config)
    assert decision.retrain
    assert decision.reason == "no production model yet"
    assert decision.figures["has_production"] is False


def test_drift_retrains_and_the_reason_names_features_and_figures(config: dict) -> None:
    drift = _report(("price", ("PSI 0.31 > 0.1",)), ("house_size", ("KS 0.18 > 0.1",)))
    decision = decide(True, drift, 1_000, config)
    assert decision.retrain
    assert decision.reason == "drift in price (PSI 0.31 > 0.1), house_size (KS 0.18 > 0.1)"
    assert decision.figures["drifted_features"] == ["price", "house_size"]


def test_enough_new_rows_retrains_without_drift(config: dict) -> None:
    needed = int(config["retrain"]["min_new_rows"])
    decision = decide(True, _report(), needed, config)
    assert decision.retrain
    assert decision.reason == f"{needed:,} new rows since the last training (>= {needed:,})"


def test_drift_and_volume_are_both_named(config: dict) -> None:
    needed = int(config["retrain"]["min_new_rows"])
    decision = decide(True, _report(("state", ("PSI 0.40 > 0.1",))), needed + 1, config)
    assert decision.reason.startswith("drift in state (PSI 0.40 > 0.1); ")
    assert f"{needed + 1:,} new rows" in decision.reason


def test_quiet_batch_is_not_retrained_and_says_why(config: dict) -> None:
    needed = int(config["retrain"]["min_new_rows"])
    decision = decide(True, _report(), 2_000, config)
    assert not decision.retrain
    assert decision.reason == f"no drift and only 2,000 new rows since the last training (< {needed:,})"
    assert decision.figures["rows_since_training"] == 2_000


def test_missing_drift_report_is_said_in_the_reason(config: dict) -> None:
    decision = decide(True, None, 10, config)
    assert not decision.retrain
    assert decision.reason.startswith("no drift report (nothing to compare with) and only 10 new rows")


def test_threshold_comes_from_config(config: dict) -> None:
    lowered = {**config, "retrain": {"min_new_rows": 500}}
    assert decide(True, _report(), 500, lowered).retrain
    assert not decide(True, _report(), 499, lowered).retrain
