"""Pipeline hooks."""

from __future__ import annotations

import os

from tasador.monitoring.loop_metrics import record_training_failure


def training_failed(exception: BaseException) -> None:
    """Count the failed run in Prometheus (when a Pushgateway is configured), for the failed-retraining alert."""
    record_training_failure(os.environ.get("TASADOR_PUSHGATEWAY_URL"))
