"""A real Prometheus scrapes the real BentoML service and the Pushgateway on loopback, and evaluates
tasador's rules over what it scraped."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tasador.monitoring.loop_metrics import push_batch_metrics
from tests.support.processes import Process
from tests.support.service import LISTING

from .conftest import eventually, prometheus_config, query

pytestmark = pytest.mark.slow

SUMMARY = {"group_number": 1, "rows_in": 500, "quarantined": 5, "clean": 495, "retrain": False}


def test_prometheus_scrapes_the_service_and_the_loop(
    local_service: Process,
    pushgateway: str,
    start_prometheus: Callable[[dict], str],
) -> None:
    for _ in range(3):
        assert httpx.post(local_service.url + "/predict", json={"listings": [LISTING]}, timeout=30).status_code == 200
    assert push_batch_metrics(SUMMARY, pushgateway)

    prometheus = start_prometheus(prometheus_config(pushgateway, service_url=local_service.url))

    assert eventually(prometheus, 'up{job="tasador-serving"} == 1')
    predicted = eventually(prometheus, "sum(tasador_predictions_total)")
    assert float(predicted[0]["value"][1]) == 3
    assert eventually(prometheus, "tasador_model_ready == 1")
    rows = eventually(prometheus, 'tasador_batch_rows{job="tasador_training", group="1"}')
    assert float(rows[0]["value"][1]) == 500
    # The recording rules run over the scraped series (a rate needs two scrapes).
    assert eventually(prometheus, "tasador:requests:rate5m >= 0")
    assert query(prometheus, 'ALERTS{alertname="TasadorNoProductionModel"}') == []
