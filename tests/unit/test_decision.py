"""The retrain rule: each trigger on its own, the quiet case, and reasons a person can act on."""

from __future__ import annotations

import pytest

from tasador.configs import DriftConfig, RetrainRule
from tasador.monitoring.decision import decide, nothing_new
from tasador.monitoring.drift import DriftReport, FeatureDrift
from tasador.results import (
    DecayCheck,
    DriftedFeature,
    LastTraining,
    PriceMetrics,
    ProductionScore,
    SegmentChange,
    UnseenCategories,
)
from tasador.settings import Settings


@pytest.fixture(scope="module")
def config() -> DriftConfig:
    return Settings().configs.drift


def _report(*flagged: tuple[str, tuple[str, ...]]) -> DriftReport:
    features = [FeatureDrift("bed", "numeric", {"psi": 0.01})]
    features += [FeatureDrift(name, "numeric", {}, breaches) for name, breaches in flagged]
    return DriftReport(reference_rows=20_000, current_rows=1_000, features=tuple(features))


def test_no_production_model_means_retrain(config: DriftConfig) -> None:
    decision = decide(False, None, 1_000, config)
    assert decision.retrain
    assert decision.reason == "no production model yet"
    assert decision.has_production is False


def test_drift_retrains_and_the_reason_names_features_and_figures(config: DriftConfig) -> None:
    drift = _report(("price", ("PSI 0.31 > 0.1",)), ("house_size", ("KS 0.18 > 0.1",)))
    decision = decide(True, drift, 1_000, config)
    assert decision.retrain
    assert decision.reason == "drift in price (PSI 0.31 > 0.1), house_size (KS 0.18 > 0.1)"
    assert decision.drifted_features == ["price", "house_size"]


def test_volume_alone_no_longer_retrains_and_says_nothing_changed(config: DriftConfig) -> None:
    needed = int(config.retrain.min_new_rows)
    decision = decide(True, _report(), needed + 412, config)
    assert not decision.retrain
    assert decision.reason == f"{needed + 412:,} new rows since the last training, but nothing changed (no drift)"


def test_a_scheduled_refresh_retrains_on_volume_only_when_switched_on(config: DriftConfig) -> None:
    needed = int(config.retrain.min_new_rows)
    assert config.retrain.scheduled_refresh is False  # off by default
    scheduled = config.model_copy(update={"retrain": config.retrain.model_copy(update={"scheduled_refresh": True})})
    decision = decide(True, _report(), needed, scheduled)
    assert decision.retrain and decision.trigger == "scheduled"
    assert decision.reason.startswith(f"scheduled refresh: {needed:,} new rows since the last training")
    assert not decide(True, _report(), needed - 1, scheduled).retrain


def test_drift_and_volume_are_both_named(config: DriftConfig) -> None:
    needed = int(config.retrain.min_new_rows)
    decision = decide(True, _report(("state", ("PSI 0.40 > 0.1",))), needed + 1, config)
    assert decision.reason.startswith("drift in state (PSI 0.40 > 0.1); ")
    assert f"{needed + 1:,} new rows" in decision.reason


def test_quiet_batch_is_not_retrained_and_says_why(config: DriftConfig) -> None:
    needed = int(config.retrain.min_new_rows)
    decision = decide(True, _report(), 2_000, config)
    assert not decision.retrain
    assert decision.reason == f"no drift and only 2,000 new rows since the last training (< {needed:,})"
    assert decision.rows_since_training == 2_000


def test_missing_drift_report_is_said_in_the_reason(config: DriftConfig) -> None:
    decision = decide(True, None, 10, config)
    assert not decision.retrain
    assert decision.reason.startswith("no drift report (nothing to compare with) and only 10 new rows")


def test_threshold_comes_from_config(config: DriftConfig) -> None:
    lowered = config.model_copy(update={"retrain": RetrainRule(min_new_rows=500, scheduled_refresh=True)})
    assert decide(True, _report(), 500, lowered).retrain
    assert not decide(True, _report(), 499, lowered).retrain


def _score(batch_bias: float, *, states: tuple[str, ...] = ()) -> ProductionScore:
    """Production's figures on a batch whose median error moved to `batch_bias` (holdout: 0)."""
    metrics = PriceMetrics(rows=1_000, rmse=300_000, mae=150_000, mdape=24.0, r2_log=0.7)
    fired = abs(batch_bias) - 2 > 8  # interval ±2 points around it, line ±8
    return ProductionScore(
        version="1",
        batch=metrics,
        holdout=metrics,
        decay=DecayCheck(
            fired=fired,
            confidence=0.95,
            batch_mdape=24.0,
            mdape_low=22.0,
            mdape_high=26.0,
            holdout_mdape=24.0,
            max_rise=0.15,
            batch_bias=batch_bias,
            bias_low=batch_bias - 2,
            bias_high=batch_bias + 2,
            holdout_bias=0.0,
            max_bias=8.0,
        ),
        segments=[
            SegmentChange(
                by="state", segment="Texas", rows_before=300, rows_after=80, mdape_before=21.0, mdape_after=35.5
            )
        ],
        unseen=[UnseenCategories(column="state", count=1, share=0.2, expected_share=0.0, examples=[*states])]
        if states
        else [],
    )


def _last(outcome: str, waited: int = 0, severity: float = 1.4) -> LastTraining:
    price = DriftedFeature(name="price", severity=severity, breaches=["KS 0.098 > 0.07"])
    return LastTraining(
        batch_id=12, batch_number=12, source="scripted", outcome=outcome, drifted=[price], batches_waited=waited
    )


def test_decay_alone_retrains_and_the_reason_says_by_how_much_and_where(config: DriftConfig) -> None:
    decision = decide(True, _report(), 1_000, config, production=_score(-16.0))
    assert decision.retrain and decision.trigger == "decay"
    assert decision.reason.startswith("production's error rose: MdAPE 24.0% on this batch")
    assert "median error -16.0% (-18.0 to -14.0%) vs +0.0%" in decision.reason
    assert "most in state Texas 21.0 → 35.5%" in decision.reason


def test_a_rejected_attempt_makes_the_same_drift_wait_and_says_so(config: DriftConfig) -> None:
    drift = _report(("price", ("KS 0.1 > 0.07",)))
    decision = decide(True, drift, 1_000, config, last_training=_last("rejected"))
    assert not decision.retrain and decision.trigger == "waiting"
    patience = int(config.storm.patience_batches)
    assert decision.reason.startswith(
        f"drift as at the last training (batch 12 of scripted, rejected): waiting for a further change or "
        f"{patience - 1} more batches of drifted data; drift in price"
    )


def test_the_same_drift_retrains_again_once_it_persisted(config: DriftConfig) -> None:
    patience = int(config.storm.patience_batches)
    drift = _report(("price", ("KS 0.1 > 0.07",)))
    decision = decide(True, drift, 3_000, config, last_training=_last("rejected", waited=patience - 1))
    assert decision.retrain and decision.trigger == "persisted"
    assert f"for {patience} more batches: retraining on more of the drifted data" in decision.reason


def test_drift_grown_past_the_last_training_retrains(config: DriftConfig) -> None:
    grown = FeatureDrift("price", "numeric", {"severity": 2.5}, ("KS 0.18 > 0.07",))
    drift = DriftReport(reference_rows=20_000, current_rows=1_000, features=(grown,))
    decision = decide(True, drift, 1_000, config, last_training=_last("rejected"))
    assert decision.retrain and decision.trigger == "drift"
    assert "beyond the last training (batch 12 of scripted, rejected): price severity 2.50 vs 1.40 then" in (
        decision.reason
    )


def test_after_a_promotion_the_drift_it_answered_waits_for_a_further_change(config: DriftConfig) -> None:
    drift = _report(("price", ("KS 0.1 > 0.07",)))
    decision = decide(True, drift, 1_000, config, last_training=_last("promoted", waited=10))
    assert not decision.retrain
    assert "(batch 12 of scripted, promoted): waiting for a further change;" in decision.reason


def test_a_state_never_seen_since_the_last_training_is_a_change_beyond_it(config: DriftConfig) -> None:
    drift = _report(("price", ("KS 0.1 > 0.07",)))
    score = _score(-3.0, states=("Puerto Rico",))
    decision = decide(True, drift, 1_000, config, production=score, last_training=_last("promoted"))
    assert decision.retrain
    assert "states never seen: Puerto Rico" in decision.reason
    assert "never seen: state Puerto Rico (20.0% of the batch)" in decision.reason


def test_a_batch_of_duplicates_has_nothing_new_to_judge() -> None:
    decision = nothing_new(1_000, {"duplicate": 998, "price_out_of_range": 2}, 4_000, 20_000)
    assert not decision.retrain and decision.trigger == "nothing_new"
    assert decision.reason.startswith("nothing new to judge: 998 of 1,000 rows were duplicates")


def test_a_feature_just_past_its_threshold_beside_known_drift_is_not_a_new_change(config: DriftConfig) -> None:
    """While the world drifts, a feature flickering past its threshold does not retrain; one well past it does."""
    last = _last("rejected")  # it saw price drift (severity 1.4)
    price = FeatureDrift("price", "numeric", {"severity": 1.4}, ("KS 0.098 > 0.07",))

    def with_bath(severity: float) -> DriftReport:
        bath = FeatureDrift("bath", "numeric", {"severity": severity}, ("KS 0.073 > 0.07",))
        return DriftReport(reference_rows=20_000, current_rows=1_000, features=(price, bath))

    assert not decide(True, with_bath(1.05), 1_000, config, last_training=last).retrain
    grown = decide(True, with_bath(2.0), 1_000, config, last_training=last)
    assert grown.retrain and "bath drifted since (severity 2.00)" in grown.reason
    # After a training that saw no drift at all, any drift is a change.
    calm = last.model_copy(update={"drifted": []})
    assert decide(True, with_bath(1.05), 1_000, config, last_training=calm).retrain
