"""The training pipeline's figures reach a real Pushgateway, and a missing one never breaks a run."""

from __future__ import annotations

import logging
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tasador.monitoring.loop_metrics import JOB, LOOP_METRICS, push_batch_metrics, record_training_failure

SUMMARY = {
    "exhausted": False,
    "batch_number": 3,
    "group_number": 7,
    "rows_in": 1000,
    "quarantined": 12,
    "clean": 988,
    "drift_features_flagged": 2,
    "production_batch_mdape": 14.5,
    "production_decay": True,
    "served_drift_features_flagged": 3,
    "retrain": True,
    "outcome": "promoted",
    "metrics": {"rmse": 123456.0, "mdape": 0.21, "mae": 1.0, "r2_log": 0.8},
}


def pushed(gateway: str) -> dict[str, float]:
    """The tasador samples the gateway serves for job tasador_training, by sample name."""
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("tasador_") and sample.labels.get("job") == JOB
    }


def test_a_batch_pushes_every_loop_metric_with_its_value(pushgateway: str) -> None:
    assert push_batch_metrics(SUMMARY, pushgateway)

    values = pushed(pushgateway)
    assert set(values) == set(LOOP_METRICS)
    assert values["tasador_batch_rows"] == 1000
    assert values["tasador_batch_quarantined_rows"] == 12
    assert values["tasador_batch_clean_rows"] == 988
    assert values["tasador_drift_features_flagged"] == 2
    assert values["tasador_production_batch_mdape"] == 14.5
    assert values["tasador_production_decay"] == 1
    assert values["tasador_served_drift_features_flagged"] == 3
    assert values["tasador_retrain_decision"] == 1
    assert values["tasador_production_rmse"] == 123456.0
    assert values["tasador_production_mdape"] == 0.21
    assert values["tasador_last_batch_timestamp_seconds"] > 1.7e9
    assert values["tasador_training_failures_total"] == 0


def test_failures_accumulate_and_survive_the_next_batch(pushgateway: str) -> None:
    assert record_training_failure(pushgateway, group_number=7)
    assert record_training_failure(pushgateway, group_number=7)
    assert pushed(pushgateway)["tasador_training_failures_total"] == 2

    rejected = {**SUMMARY, "retrain": False, "outcome": "rejected", "metrics": {"rmse": 1.0, "mdape": 1.0}}
    push_batch_metrics(rejected, pushgateway)
    values = pushed(pushgateway)
    assert values["tasador_training_failures_total"] == 2
    assert values["tasador_retrain_decision"] == 0
    # A rejected challenger is not production: its metrics must not show up as production's.
    assert "tasador_production_rmse" not in values


def test_an_exhausted_source_pushes_nothing(pushgateway: str) -> None:
    assert not push_batch_metrics({"exhausted": True}, pushgateway)
    assert pushed(pushgateway) == {}


def test_without_a_gateway_the_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASADOR_PUSHGATEWAY_URL", raising=False)
    assert not push_batch_metrics(SUMMARY, None)
    assert not record_training_failure(None)


def test_the_environment_names_the_gateway(pushgateway: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASADOR_PUSHGATEWAY_URL", pushgateway)
    assert push_batch_metrics(SUMMARY, None)
    assert pushed(pushgateway)["tasador_batch_rows"] == 1000


def test_an_unreachable_gateway_is_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tasador.monitoring.loop_metrics"):
        assert not push_batch_metrics(SUMMARY, "http://127.0.0.1:9")
    assert "TASADOR_PUSHGATEWAY_URL" in caplog.text
