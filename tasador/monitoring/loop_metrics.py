"""Loop metrics: what each processed batch tells Prometheus, through a Pushgateway.

The training pipeline is a batch job, not a server Prometheus could scrape, so its last step
pushes one group of gauges per run (job `tasador_training`, grouped by data group). The names
here are the contract of docs/CONTRACTS.md; the dashboard and the alert rules query them.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.error import URLError

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway
from prometheus_client.core import CounterMetricFamily
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from tasador.settings import Settings

log = logging.getLogger(__name__)

JOB: Final = "tasador_training"
GATEWAY_ENV: Final = "TASADOR_PUSHGATEWAY_URL"

#: Exposed by the BentoML service (bento/service.py).
SERVICE_METRICS: Final[tuple[str, ...]] = (
    "tasador_request_duration_seconds",
    "tasador_predictions_total",
    "tasador_errors_total",
    "tasador_model_info",
    "tasador_model_ready",
    "tasador_inference_log_backlog",
    "tasador_inference_log_failures_total",
    "tasador_predicted_price_dollars",
)

#: Pushed by the training pipeline, once per batch.
LOOP_METRICS: Final[tuple[str, ...]] = (
    "tasador_batch_rows",
    "tasador_batch_quarantined_rows",
    "tasador_batch_clean_rows",
    "tasador_drift_features_flagged",
    "tasador_retrain_decision",
    "tasador_production_rmse",
    "tasador_production_mdape",
    "tasador_last_batch_timestamp_seconds",
    "tasador_training_failures_total",
    "tasador_production_batch_mdape",
    "tasador_production_decay",
    "tasador_served_drift_features_flagged",
)

# Gauge name (without the `tasador_` prefix) -> (key in the batch summary, help text).
_SUMMARY_GAUGES: Final[dict[str, tuple[str, str]]] = {
    "batch_rows": ("rows_in", "Rows received in the last batch."),
    "batch_quarantined_rows": ("quarantined", "Rows of the last batch quarantined by validation or cleaning."),
    "batch_clean_rows": ("clean", "Rows of the last batch that reached CLEAN."),
    "drift_features_flagged": ("drift_features_flagged", "Features flagged as drifted in the last batch."),
    "production_batch_mdape": ("production_batch_mdape", "MdAPE (%) of production on the last batch's clean rows."),
    "production_decay": ("production_decay", "1 when the last batch's decay trigger fired, else 0."),
    "served_drift_features_flagged": (
        "served_drift_features_flagged",
        "Features flagged as drifted in the last window of served traffic.",
    ),
}
_FAILURES: Final = "tasador_training_failures_total"


def resolve_gateway(gateway_url: str | None) -> str | None:
    """The Pushgateway to use: the argument, else TASADOR_PUSHGATEWAY_URL (Settings.pushgateway_url), else none."""
    return gateway_url or Settings().pushgateway_url or None


def push_batch_metrics(summary: Mapping[str, Any], gateway_url: str | None) -> bool:
    """Push one batch's figures; True when pushed.

    `summary` is the pipeline's batch summary (tasador.loop.summary.finish_batch): `rows_in`,
    `quarantined`, `clean`, `retrain`, and when known `drift_features_flagged`,
    `production_batch_mdape`, `production_decay` (bool), `served_drift_features_flagged` and
    `production_metrics` ({"rmse", "mdape"} of the model serving after this batch; else the
    challenger's `metrics` when its `outcome` is "promoted"). A summary with `exhausted` set had
    no batch and pushes nothing, so the stale-data alert can fire.
    Pushing never fails the pipeline: a missing or unreachable gateway is logged.
    """
    gateway = resolve_gateway(gateway_url)
    if gateway is None:
        log.debug("No Pushgateway configured (%s unset): loop metrics not pushed.", GATEWAY_ENV)
        return False
    if summary.get("exhausted"):
        log.debug("No batch was processed: nothing to push.")
        return False
    registry = CollectorRegistry()
    for name, (key, help_text) in _SUMMARY_GAUGES.items():
        if summary.get(key) is not None:
            Gauge(f"tasador_{name}", help_text, registry=registry).set(float(summary[key]))
    Gauge("tasador_retrain_decision", "1 when the last batch triggered retraining, else 0.", registry=registry).set(
        1.0 if summary.get("retrain") else 0.0
    )
    production = _production_metrics(summary)
    for metric in ("rmse", "mdape"):
        if production.get(metric) is not None:
            Gauge(f"tasador_production_{metric}", f"Holdout {metric} of the production model.", registry=registry).set(
                float(production[metric])
            )
    Gauge(
        "tasador_last_batch_timestamp_seconds", "Unix time the last batch finished processing.", registry=registry
    ).set(time.time())
    # Re-pushing the current failure count keeps the series present from the first batch on, so
    # `increase()` in the failed-retraining alert sees the first failure as an increase.
    registry.register(_FailureCount(_current_failures(gateway, _group(summary))))
    return _push(gateway, registry, _group(summary))


def record_training_failure(gateway_url: str | None, group_number: int | None = None) -> bool:
    """Add one to `tasador_training_failures_total` (for the pipeline's failure hook); True when pushed."""
    gateway = resolve_gateway(gateway_url)
    if gateway is None:
        log.debug("No Pushgateway configured (%s unset): training failure not pushed.", GATEWAY_ENV)
        return False
    group = _group({"group_number": group_number})
    registry = CollectorRegistry()
    registry.register(_FailureCount(_current_failures(gateway, group) + 1))
    return _push(gateway, registry, group)


def _production_metrics(summary: Mapping[str, Any]) -> Mapping[str, Any]:
    """Metrics of the model serving after this batch; none when it did not change and is unknown."""
    if summary.get("production_metrics"):
        return summary["production_metrics"]
    # A promoted challenger is the production model from now on.
    return (summary.get("metrics") or {}) if summary.get("outcome") == "promoted" else {}


class _FailureCount(Collector):
    """The failure counter at a value read back from the gateway: the count outlives each process.

    A plain prometheus_client Counter would also push a `_created` sample, new on every push.
    """

    def __init__(self, value: float) -> None:
        self.value = value

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(_FAILURES.removesuffix("_total"), "Training runs that failed.", value=self.value)


def _group(summary: Mapping[str, Any]) -> dict[str, str]:
    group = summary.get("group_number")
    return {"group": str(group)} if group is not None else {}


def _current_failures(gateway: str, group: Mapping[str, str]) -> float:
    """The failure count the gateway holds for this group (0 when none or unreachable)."""
    url = gateway if "://" in gateway else f"http://{gateway}"
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/metrics", timeout=_timeout()) as response:
            text = response.read().decode()
    except (URLError, OSError):
        return 0.0
    wanted = {"job": JOB, **group}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == _FAILURES and all(sample.labels.get(k) == v for k, v in wanted.items()):
                return float(sample.value)
    return 0.0


def _push(gateway: str, registry: CollectorRegistry, group: Mapping[str, str]) -> bool:
    # POST (pushadd) replaces only the metrics pushed now, so a failure pushed by the failure hook
    # and the batch gauges pushed by the last step live side by side in the same group.
    try:
        pushadd_to_gateway(gateway, job=JOB, registry=registry, grouping_key=dict(group), timeout=_timeout())
    except (URLError, OSError) as error:
        log.warning(
            "Could not push loop metrics to %s (%s): the batch is processed, but the dashboard and alerts "
            "miss it; check that the Pushgateway runs and %s points at it.",
            gateway,
            error,
            GATEWAY_ENV,
        )
        return False
    return True


def _timeout() -> float:
    return Settings().configs.observability.pushgateway.timeout_s
