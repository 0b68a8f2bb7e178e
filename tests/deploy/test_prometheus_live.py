"""A real Prometheus scrapes the real BentoML service and the Pushgateway on loopback, and evaluates
tasador's rules over what it scraped."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tasador.loop_metrics import push_batch_metrics
from tasador.settings import load_config
from tests.integration.service_fixtures import LISTING, Process, local_service  # noqa: F401  (a fixture)

from .conftest import DEPLOY

pytestmark = pytest.mark.slow

SUMMARY = {"group_number": 1, "rows_in": 500, "quarantined": 5, "clean": 495, "retrain": False}


def scrape_config(service_url: str, pushgateway_url: str) -> dict[str, Any]:
    interval = f"{load_config('observability')['local_services']['scrape_interval_s']}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(DEPLOY / "prometheus" / "rules.yml")],
        "scrape_configs": [
            {"job_name": "tasador-serving", "static_configs": [{"targets": [service_url.split("//")[1]]}]},
            {
                "job_name": "tasador-pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway_url.split("//")[1]]}],
            },
        ],
    }


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def eventually(prometheus: str, expr: str) -> list[dict[str, Any]]:
    """The query's result once it has one (Prometheus needs a scrape or two)."""
    deadline = time.monotonic() + load_config("observability")["local_services"]["query_timeout_s"]
    while time.monotonic() < deadline:
        if result := query(prometheus, expr):
            return result
        time.sleep(0.5)
    raise AssertionError(f"no result for {expr!r} in time; targets: {httpx.get(f'{prometheus}/api/v1/targets').text}")


def test_prometheus_scrapes_the_service_and_the_loop(
    local_service: Process,  # noqa: F811
    pushgateway: str,
    start_prometheus: Callable[[dict], str],
) -> None:
    for _ in range(3):
        assert httpx.post(local_service.url + "/predict", json={"listings": [LISTING]}, timeout=30).status_code == 200
    assert push_batch_metrics(SUMMARY, pushgateway)

    prometheus = start_prometheus(scrape_config(local_service.url, pushgateway))

    assert eventually(prometheus, 'up{job="tasador-serving"} == 1')
    predicted = eventually(prometheus, "sum(tasador_predictions_total)")
    assert float(predicted[0]["value"][1]) == 3
    assert eventually(prometheus, "tasador_model_ready == 1")
    rows = eventually(prometheus, 'tasador_batch_rows{job="tasador_training", group="1"}')
    assert float(rows[0]["value"][1]) == 500
    # The recording rules run over the scraped series (a rate needs two scrapes).
    assert eventually(prometheus, "tasador:requests:rate5m >= 0")
    assert query(prometheus, 'ALERTS{alertname="TasadorNoProductionModel"}') == []
