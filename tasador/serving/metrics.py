"""The service's Prometheus metrics (names fixed in docs/CONTRACTS.md), served by BentoML at /metrics.

`bentoml.metrics` is, in BentoML 1.4, a deprecated shim that imports prometheus_client lazily; we do
the same thing directly: prometheus_client is imported when a worker builds its metrics, after BentoML
has set PROMETHEUS_MULTIPROC_DIR, so every worker writes to the shared multiprocess files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tasador.configs import MetricsConfig

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Histogram


class ServiceMetrics:
    def __init__(self, config: MetricsConfig, registry: CollectorRegistry | None = None) -> None:
        import prometheus_client as prom

        where: dict[str, Any] = {"registry": registry} if registry is not None else {}
        self.request_duration = prom.Histogram(
            "tasador_request_duration_seconds",
            "Time to answer a request, by endpoint.",
            ["endpoint"],
            buckets=config.request_duration_buckets,
            **where,
        )
        self.predictions = prom.Counter(
            "tasador_predictions_total", "Listings priced, by model version.", ["model_version"], **where
        )
        self.errors = prom.Counter(
            "tasador_errors_total",
            "Requests answered with an error, by kind (validation, too_large, no_model, internal).",
            ["kind"],
            **where,
        )
        # Gauges across workers: the version any live worker serves; ready only when every worker is.
        self.model_info = prom.Gauge(
            "tasador_model_info", "1 for the model version served.", ["version"], multiprocess_mode="livemax", **where
        )
        self.model_ready = prom.Gauge(
            "tasador_model_ready", "1 when a model is loaded and served.", multiprocess_mode="livemin", **where
        )
        self.log_backlog = prom.Gauge(
            "tasador_inference_log_backlog",
            "Inference log rows not yet in the database (memory and spill files).",
            multiprocess_mode="livesum",
            **where,
        )
        self.log_failures = prom.Counter(
            "tasador_inference_log_failures_total", "Failed writes of the inference log (retried).", **where
        )
        self.predicted_price = prom.Histogram(
            "tasador_predicted_price_dollars", "Predicted prices.", buckets=config.price_buckets, **where
        )
        self.model_ready.set(0)

    def model_changed(self, old_version: str | None, new_version: str | None) -> None:
        if old_version is not None:
            self.model_info.labels(version=old_version).set(0)
        if new_version is not None:
            self.model_info.labels(version=new_version).set(1)
        self.model_ready.set(1 if new_version is not None else 0)

    def predicted(self, model_version: str, prices: Sequence[float]) -> None:
        self.predictions.labels(model_version=model_version).inc(len(prices))
        if len(prices) <= _OBSERVE_ONE_BY_ONE:
            for price in prices:
                self.predicted_price.observe(price)
        else:
            observe_many(self.predicted_price, prices)


#: Above this many prices a request's observations are added per bucket: in multiprocess mode each
#: observation is its own write to the shared values (the cost of 1,000 one by one is in BENCHMARKS.md).
_OBSERVE_ONE_BY_ONE = 8


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """The same samples as `histogram.observe(v) for v in values`, with one update per bucket.

    prometheus_client has no bulk observe; this uses its histogram's own value cells (`_buckets`,
    `_sum`, `_upper_bounds`, stable since 0.4), and tests/unit/test_serving_metrics.py checks the
    exposition against observing one by one, so an upgrade that changes them fails there.
    """
    array = np.asarray(values, dtype=float)
    bounds = np.asarray(histogram._upper_bounds, dtype=float)
    # observe() adds to the first bucket whose upper bound is >= the value (NaN lands in none).
    counts = np.bincount(np.searchsorted(bounds, array, side="left"), minlength=len(bounds) + 1)
    for bucket, n in zip(histogram._buckets, counts[: len(bounds)], strict=True):
        if n:
            bucket.inc(int(n))
    histogram._sum.inc(float(array.sum()))
