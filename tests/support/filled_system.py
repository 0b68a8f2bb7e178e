"""A small but real tasador system for the app's tests, filled through the public APIs only.

RAW/CLEAN in SQLite through `Store` (ingest_raw, save_clean, save_report, save_decision, record_outcome) and
the MLflow registry in a SQLite store (runs with SHAP artifacts, versions with the contract's tags, the
`production` alias). Four batches: version 1 promoted on batch 1, no retraining on batch 2, version 2
promoted on batch 3 (the production model), version 3 rejected on batch 4. One window of served traffic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tasador.monitoring.served import Predictions, ServedWindow
from tasador.registry.alias_moves import move_alias
from tasador.results import DriftedFeature
from tasador.schema import COLUMNS, Batch
from tasador.store import Store
from ui.data import SHAP_SUMMARY_PATH

MODEL_NAME = "tasador-price"
ALIAS = "production"

#: (state, city, zip) of the listings; the Predict form must offer exactly these.
PLACES: tuple[tuple[str, str, str], ...] = (
    ("Massachusetts", "Boston", "02127"),
    ("Massachusetts", "Boston", "02127"),
    ("Massachusetts", "Boston", "02118"),
    ("Massachusetts", "Cambridge", "02139"),
    ("North Carolina", "Graham", "27253"),
    ("Texas", "Austin", "78701"),
)

QUARANTINE_REASON = "price: missing (the target is required)"
PRICE_DRIFT_REASON = "drift in price (PSI 0.31 > 0.2)"
SERVED_STATE_BREACH = "22.0% of rows in categories never seen, 0.0% expected (excess > 2%)"
REJECTED_REASON = "challenger mdape 26.0% is not 2% better than production's 24.0% on the same holdout"


@dataclass(frozen=True)
class Version:
    source_batch: int
    batches: str
    decision: str
    reason: str
    metrics: dict[str, float]
    mean_abs_shap: dict[str, float]
    summary_png: bool


VERSIONS: tuple[Version, ...] = (
    Version(
        source_batch=1,
        batches="1",
        decision="promoted",
        reason="no production model yet (challenger mdape 30.0%)",
        metrics={"rmse": 310_000.0, "mae": 150_000.0, "mdape": 30.0, "r2_log": 0.61},
        mean_abs_shap={"house_size": 0.50, "state": 0.40, "bath": 0.30, "zip_code": 0.20, "bed": 0.10},
        summary_png=False,
    ),
    Version(
        source_batch=3,
        batches="1,2,3",
        decision="promoted",
        reason="mdape 24.0% beats production's 30.0% by more than 2%",
        metrics={"rmse": 250_000.0, "mae": 120_000.0, "mdape": 24.0, "r2_log": 0.70},
        mean_abs_shap={"state": 0.55, "house_size": 0.45, "zip_code": 0.35, "bath": 0.25, "bed": 0.05},
        summary_png=True,
    ),
    Version(
        source_batch=4,
        batches="1,2,3,4",
        decision="rejected",
        reason=REJECTED_REASON,
        metrics={"rmse": 260_000.0, "mae": 125_000.0, "mdape": 26.0, "r2_log": 0.68},
        mean_abs_shap={"state": 0.50, "house_size": 0.40, "zip_code": 0.30, "bath": 0.20, "bed": 0.10},
        summary_png=False,
    ),
)
PRODUCTION_VERSION = "2"


@dataclass(frozen=True)
class FilledSystem:
    home: Path
    database_url: str
    tracking_uri: str

    def env(self) -> dict[str, str]:
        """What the app (in-process or `streamlit run`) needs to read this system."""
        return {
            "TASADOR_HOME": str(self.home),
            "TASADOR_DB_URL": self.database_url,
            "MLFLOW_TRACKING_URI": self.tracking_uri,
        }


def fill_system(home: Path) -> FilledSystem:
    home.mkdir(parents=True, exist_ok=True)
    system = FilledSystem(home, f"sqlite:///{home / 'tasador.db'}", f"sqlite:///{home / 'mlflow.db'}")
    store = Store(system.database_url)
    try:
        batch_ids = [_ingest_batch(store, home, number) for number in range(1, 5)]
        _record_decisions(store, batch_ids)
        _record_served_window(store)
    finally:
        store.dispose()
    _register_versions(system)
    return system


def _listing(batch_number: int, index: int) -> dict[str, Any]:
    state, city, zip_code = PLACES[index % len(PLACES)]
    return {
        "brokered_by": 1000 + index,
        "status": "for_sale",
        # The last listing of every batch has no price: validation quarantines it.
        "price": None if index == len(PLACES) - 1 else 250_000.0 + 10_000 * index + 50_000 * batch_number,
        "bed": 3.0,
        "bath": 2.0,
        "acre_lot": 0.2,
        "street": 500_000 + 10 * batch_number + index,
        "city": city,
        "state": state,
        "zip_code": zip_code,
        "house_size": 1500.0 + 100 * index,
        "prev_sold_date": None,
    }


def _ingest_batch(store: Store, home: Path, number: int) -> int:
    rows = [_listing(number, i) for i in range(len(PLACES))]
    batch_id = store.ingest_raw(Batch("test:ui", 1, number, rows)).batch_id
    raw = store.raw_rows(batch_id)
    kept = [(row_id, row) for row_id, row in raw if row["price"] is not None]
    clean = pd.DataFrame([row for _, row in kept], columns=list(COLUMNS))
    clean["zip_code"] = clean["zip_code"].astype(str)
    clean[["brokered_by", "street"]] = clean[["brokered_by", "street"]].astype(str)
    clean["prev_sold_date"] = pd.to_datetime(clean["prev_sold_date"])
    clean.insert(0, "raw_row_id", [row_id for row_id, _ in kept])
    clean.insert(1, "row_hash", [hashlib.md5(json.dumps(row, sort_keys=True).encode()).hexdigest() for _, row in kept])
    quarantined = pd.DataFrame(
        [
            {"raw_row_id": row_id, "stage": "validation", "reason": QUARANTINE_REASON}
            for row_id, row in raw
            if row["price"] is None
        ]
    )
    store.save_clean(batch_id, clean, quarantined)
    if number < 4:  # the last batch has no report: the page must say so
        report = home / "reports" / f"batch-{batch_id}.html"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(f"<html><body><h1>Validation of batch {batch_id}</h1></body></html>")
        store.save_report(batch_id, False, str(report.with_suffix(".json")), str(report), {"failed_rows": 1})
    return batch_id


def _drift(price_psi: float) -> dict[str, Any]:
    """A decision's figures in the shape tasador.monitoring.stage records them."""

    def feature(psi: float) -> dict[str, Any]:
        breaches = [f"PSI {psi} > 0.2"] if psi > 0.2 else []
        return {
            "kind": "numeric",
            "log_scale": True,
            "flagged": bool(breaches),
            "breaches": breaches,
            "note": None,
            "psi": psi,
            "ks": psi / 2,
        }

    report = {
        "reference_rows": 5,
        "current_rows": 5,
        "flagged": ["price"] if price_psi > 0.2 else [],
        "features": {"price": feature(price_psi), "house_size": feature(0.05)},
    }
    return {"drift": report, "rows_since_training": 5, "production_version": "1"}


def _record_decisions(store: Store, batch_ids: list[int]) -> None:
    first, second, third, fourth = batch_ids
    store.save_decision(first, True, "no production model yet", {"drift": None, "rows_since_training": 5})
    store.record_outcome(first, "1", "promoted")
    store.save_decision(second, False, "no feature drifted and 5 new rows < 1000", _drift(0.02))
    store.save_decision(third, True, PRICE_DRIFT_REASON, _drift(0.31))
    store.record_outcome(third, "2", "promoted")
    store.save_decision(fourth, True, "12 new rows since training >= 10", _drift(0.04))
    store.record_outcome(fourth, "3", "rejected")


def _record_served_window(store: Store) -> None:
    """One window of served traffic, checked against version 2: listings from a state it never saw."""
    when = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    window = ServedWindow(
        first_log_id=1,
        last_log_id=400,
        first_at=when,
        last_at=when + dt.timedelta(hours=1),
        requests=40,
        rows=400,
        model_version="2",
        served_versions=["2"],
        drifted=[DriftedFeature(name="state", severity=4.2, breaches=[SERVED_STATE_BREACH])],
        predictions=Predictions(count=400, mean=410_000, p10=150_000, p50=350_000, p90=800_000),
    )
    drift = {"features": {"state": {"severity": 4.2, "flagged": True}, "bed": {"severity": 0.3, "flagged": False}}}
    store.save_served_window(1, 400, "2", {"window": window.model_dump(mode="json"), "drift": drift})


def _register_versions(system: FilledSystem) -> None:
    from mlflow import MlflowClient
    from PIL import Image

    client = MlflowClient(system.tracking_uri, system.tracking_uri)
    experiment = client.create_experiment("tasador", artifact_location=(system.home / "mlartifacts").as_uri())
    client.create_registered_model(MODEL_NAME)
    for spec in VERSIONS:
        run = client.create_run(experiment, run_name=f"batch-{spec.source_batch}")
        run_id = run.info.run_id
        client.log_dict(run_id, spec.mean_abs_shap, "shap/mean_abs_shap.json")
        if spec.summary_png:
            with tempfile.TemporaryDirectory() as tmp:
                png = Path(tmp) / Path(SHAP_SUMMARY_PATH).name
                Image.new("RGB", (64, 32), "steelblue").save(png)
                client.log_artifact(run_id, str(png), "shap")
        client.set_terminated(run_id)
        tags = {
            "source_batch": str(spec.source_batch),
            "batches": spec.batches,
            "decision": spec.decision,
            "reason": spec.reason,
            **{k: str(v) for k, v in spec.metrics.items()},
        }
        client.create_model_version(MODEL_NAME, f"{run.info.artifact_uri}/model", run_id, tags=tags)
    # As the loop moves the alias: one recorded move per promotion (tasador.registry.alias_moves).
    for spec, number in zip(VERSIONS, ("1", "2", "3"), strict=True):
        if spec.decision == "promoted":
            move_alias(client, MODEL_NAME, ALIAS, number, "promotion", spec.reason)
