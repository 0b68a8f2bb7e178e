"""The Grafana dashboard: generated from code, up to date, and querying only the contract's metrics."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from deploy.grafana.dashboard import OUTPUT, build_dashboard
from tasador.monitoring.loop_metrics import LOOP_METRICS, SERVICE_METRICS
from tasador.settings import Settings

KNOWN = set(SERVICE_METRICS) | set(LOOP_METRICS)
# Series Prometheus derives from a histogram or counter name.
SUFFIXES = re.compile(r"_(bucket|count|sum)$")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(OUTPUT.read_text())


def data_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def metrics_in(expr: str) -> set[str]:
    return {SUFFIXES.sub("", name) for name in re.findall(r"\btasador_[a-z_]+", expr)}


def test_the_committed_json_is_what_the_code_generates(dashboard: dict[str, Any]) -> None:
    expected = build_dashboard(Settings().configs.observability.dashboard)
    assert dashboard == expected, "deploy/grafana/tasador.json is stale: run python -m deploy.grafana.dashboard"


def test_every_query_names_only_contract_metrics(dashboard: dict[str, Any]) -> None:
    for panel in data_panels(dashboard):
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            named = metrics_in(target["expr"])
            assert named, f"{panel['title']!r} queries no tasador metric: {target['expr']}"
            assert named <= KNOWN, f"{panel['title']!r} queries unknown metrics {named - KNOWN}"


def test_every_contract_metric_is_on_the_dashboard(dashboard: dict[str, Any]) -> None:
    shown = {name for panel in data_panels(dashboard) for t in panel["targets"] for name in metrics_in(t["expr"])}
    assert shown == KNOWN, f"metrics missing from the dashboard: {KNOWN - shown}"


def test_panels_use_the_provisioned_prometheus_and_fit_the_grid(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "tasador"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, f"{panel['title']!r} overflows the 24-column grid"
        covered = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not covered & cells, f"{panel['title']!r} overlaps another panel"
        cells |= covered
    for panel in data_panels(dashboard):
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}


def test_the_sections_people_look_for_are_there(dashboard: dict[str, Any]) -> None:
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {"Service", "Model", "Loop"} <= titles
    assert {"Request rate", "Latency percentiles", "Errors by kind", "Model version served"} <= titles
    assert "Distribution of predicted prices" in titles
    heatmap = next(p for p in dashboard["panels"] if p["title"] == "Distribution of predicted prices")
    assert heatmap["type"] == "heatmap" and heatmap["targets"][0]["format"] == "heatmap"
