"""Served traffic, read back: what the service was asked to price, compared with what production learned from.

A window is the inference log's rows since the last check (per training batch in the loop, or on demand:
`python run.py monitor served`). Its inputs, read with the loop's own parser, go through the same drift code
as a batch (tasador/monitoring/drift.py) against production's training data; the price is absent, so it is skipped.
The window's volume and prediction distribution are kept beside the drift, in `served_windows`.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tasador.cleaning.parsing import parse_rows
from tasador.monitoring.drift import drift_report
from tasador.registry.production import production_model
from tasador.results import DriftedFeature
from tasador.settings import Settings
from tasador.store import Store


class Predictions(BaseModel):
    """The distribution of the window's predicted prices, in dollars."""

    count: int
    mean: float | None = None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None


class ServedWindow(BaseModel):
    """One window of the inference log against production's training data."""

    first_log_id: int
    last_log_id: int
    first_at: dt.datetime
    last_at: dt.datetime
    requests: int
    rows: int
    model_version: str  # production's version, whose training data the inputs were compared with
    served_versions: list[str] = Field(default_factory=list)  # versions that answered these requests
    drifted: list[DriftedFeature] = Field(default_factory=list)
    predictions: Predictions

    def describe(self) -> str:
        drift = ", ".join(f.describe() for f in self.drifted) or "no drift"
        return (
            f"served rows {self.first_log_id}-{self.last_log_id} ({self.requests:,} requests, {self.rows:,} rows): "
            f"{drift}; median prediction ${self.predictions.p50 or 0:,.0f}"
        )


def check_served(store: Store, settings: Settings) -> ServedWindow | None:
    """Check the requests since the last window; None when there is no production model or no new request."""
    production = production_model(settings)
    if production is None or not production.batches:
        return None
    windows = store.served_windows()
    after = int(windows["last_log_id"].max()) if not windows.empty else 0
    config = settings.configs.drift
    rows = store.inference_rows(after, config.served.max_rows)
    if rows.empty:
        return None
    inputs = [(int(i), json.loads(text)) for i, text in zip(rows["id"], rows["inputs"], strict=True)]
    served = parse_rows(inputs, settings.configs.cleaning).frame
    drift = drift_report(store.clean_frame(batch_ids=production.batches), served, config)
    window = ServedWindow(
        first_log_id=int(rows["id"].iloc[0]),
        last_log_id=int(rows["id"].iloc[-1]),
        first_at=pd.Timestamp(rows["received_at"].iloc[0]).to_pydatetime(),
        last_at=pd.Timestamp(rows["received_at"].iloc[-1]).to_pydatetime(),
        requests=int(rows["request_id"].nunique()),
        rows=len(rows),
        model_version=production.version,
        served_versions=sorted({str(v) for v in rows["model_version"].dropna()}),
        drifted=drift.drifted_features(),
        predictions=_predictions(rows["prediction"]),
    )
    figures = {"window": window.model_dump(mode="json"), "drift": drift.to_dict()}
    store.save_served_window(window.first_log_id, window.last_log_id, production.version, figures)
    return window


def _predictions(values: pd.Series) -> Predictions:
    prices = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if prices.size == 0:
        return Predictions(count=0)
    p10, p50, p90 = np.quantile(prices, [0.1, 0.5, 0.9])
    return Predictions(count=int(prices.size), mean=float(prices.mean()), p10=p10, p50=p50, p90=p90)
