"""The service's bookkeeping loses nothing: a batch's prices observed per bucket, log rows with their listing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, select

from tasador.serving.inference_log import InferenceLog
from tasador.serving.metrics import ServiceMetrics
from tasador.settings import Settings
from tasador.store import tables as t


def _samples(prices: list[float], one_by_one: bool) -> dict[tuple[str, tuple[Any, ...]], float]:
    registry = CollectorRegistry()
    metrics = ServiceMetrics(Settings().configs.serving.metrics, registry)
    if one_by_one:
        for price in prices:
            metrics.predicted_price.observe(price)
        metrics.predictions.labels(model_version="3").inc(len(prices))
    else:
        metrics.predicted("3", prices)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")  # when each registry was made
    }


@pytest.mark.parametrize("count", [1, 9, 1000])
def test_a_batch_of_prices_is_observed_as_one_by_one(count: int) -> None:
    bounds = Settings().configs.serving.metrics.price_buckets
    rng = np.random.default_rng(count)
    # Bucket bounds exactly, just around them, and beyond the last bucket.
    prices = [*bounds, *(b * 1.000001 for b in bounds), 1e12, *rng.lognormal(12.5, 1.2, count)][:count]

    bulk, one_by_one = _samples(prices, one_by_one=False), _samples(prices, one_by_one=True)
    assert bulk.keys() == one_by_one.keys()
    for key, value in one_by_one.items():
        # Counts exactly; the sum of prices up to the order of the additions.
        assert bulk[key] == pytest.approx(value, rel=1e-12), key


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_logged_rows_reach_the_database_with_their_listing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    log = InferenceLog(url, tmp_path / "spill", Settings().configs.serving.inference_log)
    log.start()
    received = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    listings = [{"state": "Texas", "status": "sold", "bed": 3}, {"state": "Ohio", "status": "for_sale"}]
    log.record("req-1", listings, [250_000.0, 99_000.5], "7", received)
    log.record("req-nan", listings[:1], [float("nan")], "7", received)
    with pytest.raises(ValueError, match="2 listings but 1 predictions"):
        log.record("req-2", listings, [1.0], "7", received)
    log.stop()  # writes what is buffered

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.inference_log).order_by(t.inference_log.c.id)).mappings().all()
    engine.dispose()
    assert [(r["request_id"], r["row_index"], r["model_version"], r["prediction"]) for r in rows] == [
        ("req-1", 0, "7", 250_000.0),
        ("req-1", 1, "7", 99_000.5),
        ("req-nan", 0, "7", None),  # a missing prediction is NULL, not NaN
    ]
    assert json.loads(rows[0]["inputs"]) == listings[0]
