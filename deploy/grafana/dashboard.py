"""tasador's Grafana dashboard, as code (grafana-foundation-sdk).

    python -m deploy.grafana.dashboard            # rewrites deploy/grafana/tasador.json

The JSON is committed: the Helm chart provisions it through a ConfigMap and compose mounts it.
Every query names metrics of tasador.monitoring.loop_metrics (SERVICE_METRICS, LOOP_METRICS); the tests hold
the dashboard to that list. Regenerate after changing this file (CI checks the two agree).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard, heatmap, prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from tasador.configs import DashboardOptions
from tasador.settings import Settings

OUTPUT = Path(__file__).with_name("tasador.json")
UID = "tasador"
#: The Prometheus datasource's uid, as provisioned by the chart and compose.
DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")


def query(expr: str, legend: str = "", ref_id: str = "A") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").ref_id(ref_id).datasource(DATASOURCE)


def graph(title: str, unit: str, *queries: prometheus.Dataquery, description: str = "") -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).span(12).height(8)
    for target in queries:
        panel = panel.with_target(target)
    return panel.description(description) if description else panel


def timeline(title: str, target: prometheus.Dataquery) -> statetimeline.Panel:
    """A half-width state timeline: which value held when (a version, a decision, a trigger)."""
    return statetimeline.Panel().title(title).datasource(DATASOURCE).span(12).height(8).with_target(target)


def service_row(window: str, quantiles: list[float]) -> list[Any]:
    latency = [
        query(
            f"histogram_quantile({q}, sum by (le) (rate(tasador_request_duration_seconds_bucket[{window}])))",
            f"p{round(q * 100)}",
            ref_id=chr(ord("A") + i),
        )
        for i, q in enumerate(quantiles)
    ]
    return [
        dashboard.Row("Service"),
        graph(
            "Request rate",
            "reqps",
            query(f"sum by (endpoint) (rate(tasador_request_duration_seconds_count[{window}]))", "{{endpoint}}"),
        ),
        graph("Latency percentiles", "s", *latency),
        graph(
            "Errors by kind",
            "reqps",
            query(f"sum by (kind) (rate(tasador_errors_total[{window}]))", "{{kind}}"),
            description="validation and too_large are the client's; internal and no_model are ours.",
        ),
        graph(
            "Inference log",
            "short",
            query("sum(tasador_inference_log_backlog)", "rows waiting"),
            query(f"sum(rate(tasador_inference_log_failures_total[{window}]))", "failed writes / s", ref_id="B"),
            description="Rows not yet in RAW; a growing backlog means the database is not taking writes.",
        ),
    ]


def model_row(window: str) -> list[Any]:
    return [
        dashboard.Row("Model"),
        timeline("Model version served", query("max by (version) (tasador_model_info) > 0", "{{version}}")),
        stat.Panel()
        .title("Model ready")
        .datasource(DATASOURCE)
        .span(4)
        .height(8)
        .with_target(query("min(tasador_model_ready)", "ready")),
        graph(
            "Predictions by model version",
            "short",
            query(f"sum by (model_version) (rate(tasador_predictions_total[{window}]))", "v{{model_version}}"),
        ).span(8),
        heatmap.Panel()
        .title("Distribution of predicted prices")
        .datasource(DATASOURCE)
        .span(24)
        .height(8)
        .with_target(
            query(f"sum by (le) (increase(tasador_predicted_price_dollars_bucket[{window}]))", "{{le}}").format(
                PromQueryFormat.HEATMAP
            )
        ),
    ]


def loop_row() -> list[Any]:
    return [
        dashboard.Row("Loop"),
        graph(
            "Last batch: rows",
            "short",
            query("max(tasador_batch_rows)", "received"),
            query("max(tasador_batch_clean_rows)", "clean", ref_id="B"),
            query("max(tasador_batch_quarantined_rows)", "quarantined", ref_id="C"),
        ),
        graph(
            "Batches processed per day",
            "short",
            query("sum(changes(tasador_last_batch_timestamp_seconds[1d]))", "batches"),
        ),
        graph("Drifted features in the last batch", "short", query("max(tasador_drift_features_flagged)", "flagged")),
        timeline("Retraining decision", query("max(tasador_retrain_decision)", "retrain")),
        graph("Production model: holdout RMSE", "currencyUSD", query("max(tasador_production_rmse)", "rmse")),
        graph(
            "Production model: holdout median abs. % error",
            "percentunit",
            query("max(tasador_production_mdape)", "mdape"),
        ),
        stat.Panel()
        .title("Since the last batch")
        .unit("s")
        .datasource(DATASOURCE)
        .span(12)
        .height(8)
        .with_target(query("time() - max(tasador_last_batch_timestamp_seconds)", "age")),
        stat.Panel()
        .title("Failed training runs (1 day)")
        .datasource(DATASOURCE)
        .span(12)
        .height(8)
        .with_target(query("sum(increase(tasador_training_failures_total[1d]))", "failures")),
        # Production judged on each new batch and on served traffic (appended: earlier panels keep their ids).
        graph(
            "Production on the latest batch: MdAPE",
            "percent",
            query("max by (group) (tasador_production_batch_mdape)", "group {{group}}"),
            description="Production's median absolute % error on the batch's clean rows, before any retraining.",
        ),
        timeline("Decay trigger", query("max(tasador_production_decay)", "decayed")),
        graph(
            "Served traffic: drifted features",
            "short",
            query("max(tasador_served_drift_features_flagged)", "flagged"),
            description="Features of the last window of served requests that drifted from production's training data.",
        ).span(24),
    ]


def build_dashboard(config: DashboardOptions) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    builder = (
        dashboard.Dashboard("tasador")
        .uid(UID)
        .description("House-price service and its continuous-training loop.")
        .tags(["tasador"])
        .refresh(config.refresh)
        .time(config.time_from, "now")
        .timezone("browser")
    )
    panels = service_row(config.rate_window, config.latency_quantiles) + model_row(config.rate_window) + loop_row()
    # Grafana keys panel state (links, edits) by id: give each a stable one.
    for panel_id, panel in enumerate(panels, start=1):
        panel.id(panel_id)
        builder = builder.with_row(panel) if isinstance(panel, dashboard.Row) else builder.with_panel(panel)
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


def write_dashboard(output: Path = OUTPUT) -> Path:
    model = build_dashboard(Settings().configs.observability.dashboard)
    output.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n")
    return output


if __name__ == "__main__":
    print(f"wrote {write_dashboard(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)}")
