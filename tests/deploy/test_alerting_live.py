"""Alerts reach someone: Debian's Prometheus evaluates tasador's rules over what the loop pushed, and
Debian's Alertmanager, configured by the Helm chart, routes each by severity to a webhook on loopback.
And the MLflow-down alert's input: the chart's probe job, through Debian's blackbox exporter, sees a
real MLflow server up, then down."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tasador.monitoring.loop_metrics import push_batch_metrics, record_training_failure
from tests.support.service import start_mlflow

from .conftest import Webhook, eventually, host, prometheus_config
from .test_helm_chart import RELEASE, alertmanager_config, by_kind_and_name, render

pytestmark = pytest.mark.slow

# A batch on which production decayed, as the loop's last step summarises it.
DECAYED = {
    "group_number": 4,
    "rows_in": 1000,
    "quarantined": 10,
    "clean": 990,
    "retrain": True,
    "production_batch_mdape": 23.5,
    "production_decay": True,
}


@pytest.fixture
def alerting(
    pushgateway: str,
    webhook: Webhook,
    start_prometheus: Callable[[dict], str],
    start_alertmanager: Callable[[str], str],
) -> str:
    """Prometheus sending to an Alertmanager that posts to the webhook; returns Prometheus' URL."""
    # The chart's configuration with the webhook on loopback; groups sent at once instead of after 30 s.
    values = {"alertmanager": {"webhook": {"url": webhook.url}, "groupWait": "0s", "groupInterval": "1s"}}
    alertmanager = start_alertmanager(alertmanager_config(values))
    return start_prometheus(prometheus_config(pushgateway, alertmanager_url=alertmanager))


def test_a_decayed_batch_reaches_the_warning_receiver(alerting: str, pushgateway: str, webhook: Webhook) -> None:
    assert push_batch_metrics(DECAYED, pushgateway)

    payload = webhook.next_with("TasadorProductionDecay")

    assert payload["receiver"] == "warning"
    assert payload["status"] == "firing"
    [alert] = [a for a in payload["alerts"] if a["labels"]["alertname"] == "TasadorProductionDecay"]
    assert alert["labels"]["severity"] == "warning"
    assert alert["labels"]["group"] == "4"
    assert "MdAPE on group 4 is 23.5%" in alert["annotations"]["description"]


def test_a_failed_training_run_reaches_the_critical_receiver(alerting: str, pushgateway: str, webhook: Webhook) -> None:
    # The failure alert reads an increase: Prometheus must hold the count before the failure first.
    assert push_batch_metrics({**DECAYED, "production_decay": False}, pushgateway)
    eventually(alerting, 'tasador_training_failures_total{group="4"} == 0')
    assert record_training_failure(pushgateway, group_number=4)

    payload = webhook.next_with("TasadorRetrainingFailed")

    assert payload["receiver"] == "critical"
    [alert] = [a for a in payload["alerts"] if a["labels"]["alertname"] == "TasadorRetrainingFailed"]
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["group"] == "4"
    assert alert["annotations"]["description"].startswith("Training failed for group 4")


def test_the_chart_probe_sees_mlflow_up_then_down(
    blackbox_exporter: str, start_prometheus: Callable[[dict], str], tmp_path: Path
) -> None:
    mlflow = start_mlflow(tmp_path / "mlflow")
    try:
        # The chart's job, aimed at this MLflow and this exporter instead of the cluster's service names.
        chart = yaml.safe_load(
            by_kind_and_name(render())["ConfigMap", f"{RELEASE}-prometheus"]["data"]["prometheus.yml"]
        )
        [job] = [j for j in chart["scrape_configs"] if j["job_name"] == "tasador-mlflow"]
        job["static_configs"] = [{"targets": [f"{mlflow.url}/health"]}]
        [to_exporter] = [r for r in job["relabel_configs"] if r["target_label"] == "__address__"]
        to_exporter["replacement"] = host(blackbox_exporter)
        config = prometheus_config()
        config["scrape_configs"].append(job)
        prometheus = start_prometheus(config)

        [up] = eventually(prometheus, 'probe_success{job="tasador-mlflow"} == 1')
        assert up["metric"]["instance"] == f"{mlflow.url}/health"
        mlflow.stop()
        assert eventually(prometheus, 'probe_success{job="tasador-mlflow"} == 0')
    finally:
        mlflow.stop()  # once only: a stopped process is left alone
