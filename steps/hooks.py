"""Pipeline hooks."""

from __future__ import annotations

from tasador.monitoring.loop_metrics import record_training_failure
from tasador.settings import Settings


def training_failed(exception: BaseException) -> None:
    """Count the failed run in Prometheus (when a Pushgateway is configured), for the failed-retraining alert."""
    record_training_failure(Settings().pushgateway_url)
