"""Read-only views of the loop for the app: its history (tasador.history), CLEAN for the form, SHAP artifacts.

Every function takes URLs and names (not open handles) so that pages can put it behind Streamlit's data
cache. Nothing here creates a database: an empty system reads as None or empty, an unreachable one raises
`HistoryUnavailable` saying what to check.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from tasador.history import History, build_history
from tasador.history.build import SHAP_ARTIFACT
from tasador.monitoring.served import ServedWindow
from tasador.schema import METRICS
from tasador.settings import Settings
from tasador.store import Store
from tasador.store import tables as t

SHAP_SUMMARY_PATH = "shap/shap_summary.png"  # as tasador.model.explain names it, logged under shap/


class HistoryUnavailable(Exception):
    """RAW/CLEAN or the MLflow registry could not be read."""


# --- RAW / CLEAN -------------------------------------------------------------------------------------
def open_store(database_url: str) -> Store | None:
    """The Store, or None while the pipeline has not created it (a missing SQLite file stays missing)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return None
    try:
        store = _store(database_url)
        return store if inspect(store.engine).has_table(t.raw_batches.name) else None
    except SQLAlchemyError as exc:
        raise _unreadable_database(database_url, exc) from exc


@st.cache_resource(show_spinner=False)
def _store(database_url: str) -> Store:
    # One engine (and its pool) per URL for the life of the server.
    return Store(database_url, create=False)


@contextmanager
def _reading(database_url: str) -> Iterator[Store | None]:
    """The open Store (None on an empty system); a database error becomes HistoryUnavailable."""
    store = open_store(database_url)
    try:
        yield store
    except SQLAlchemyError as exc:
        raise _unreadable_database(database_url, exc) from exc


def _unreadable_database(database_url: str, exc: Exception) -> HistoryUnavailable:
    shown = make_url(database_url).render_as_string(hide_password=True)
    return HistoryUnavailable(
        f"Could not read RAW/CLEAN at {shown} ({type(exc).__name__}: {exc}). "
        "Check that the database is running and TASADOR_DB_URL points at it."
    )


def locations(database_url: str) -> dict[str, list[str]]:
    """Cities seen in CLEAN, by state (both sorted): what the Predict form offers."""
    rows = t.clean_rows.c
    query = select(rows.state, rows.city).where(rows.state.is_not(None), rows.city.is_not(None)).distinct()
    with _reading(database_url) as store:
        if store is None:
            return {}
        with store.engine.connect() as conn:
            pairs = conn.execute(query).all()
    by_state: dict[str, list[str]] = {}
    for state, city in sorted(pairs):
        by_state.setdefault(state, []).append(city)
    return by_state


def zip_codes(database_url: str, state: str, city: str) -> list[str]:
    """Zip codes of a city in CLEAN, the most frequent first."""
    rows = t.clean_rows.c
    query = (
        select(rows.zip_code)
        .where(rows.state == state, rows.city == city, rows.zip_code.is_not(None))
        .group_by(rows.zip_code)
        .order_by(func.count().desc(), rows.zip_code)
    )
    with _reading(database_url) as store:
        if store is None:
            return []
        with store.engine.connect() as conn:
            return list(conn.execute(query).scalars())


def data_report(database_url: str, batch_id: int) -> dict[str, Any] | None:
    """The batch's validation report record (success, json_path, html_path, summary), None before one."""
    with _reading(database_url) as store:
        return None if store is None else store.report(batch_id)


# --- the loop's history --------------------------------------------------------------------------------
def loop_history(database_url: str, tracking_uri: str, model_name: str, alias: str) -> History | None:
    """Every batch and every registered version (tasador.history), None on an empty system."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    settings = Settings(registered_model_name=model_name, production_alias=alias)
    with _reading(database_url) as store:
        if store is None:
            return None
        try:
            return build_history(store, MlflowClient(tracking_uri, tracking_uri), settings)
        except MlflowException as exc:
            raise _unreadable_registry(tracking_uri, exc) from exc


def version_runs(tracking_uri: str, model_name: str) -> pd.DataFrame:
    """Per registered version: its MLflow run and the CLEAN batches it was trained on (tag `batches`)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        versions = MlflowClient(tracking_uri, tracking_uri).search_model_versions(f"name = '{model_name}'")
    except MlflowException as exc:
        raise _unreadable_registry(tracking_uri, exc) from exc
    rows = [{"version": str(v.version), "run_id": v.run_id, "batches": (v.tags or {}).get("batches")} for v in versions]
    return pd.DataFrame(rows, columns=["version", "run_id", "batches"])


def served_history(tracking_uri: str, model_name: str, alias: str) -> pd.DataFrame:
    """Which version served when, newest first, from the recorded alias moves (tasador.registry.alias_moves)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from tasador.registry.alias_moves import moves, served_periods

    try:
        periods = served_periods(moves(MlflowClient(tracking_uri, tracking_uri), model_name, alias))
    except MlflowException as exc:
        raise _unreadable_registry(tracking_uri, exc) from exc
    rows = [
        {
            "version": p.version,
            "since": p.since,
            "until": p.until,
            "move": p.started_by.kind,
            "from version": p.started_by.from_version,
            "reason": p.started_by.reason,
            "served prices moved": p.started_by.shadow.summary() if p.started_by.shadow else None,
            "by": p.started_by.by,
        }
        for p in reversed(periods)
    ]
    columns = ["version", "since", "until", "move", "from version", "reason", "served prices moved", "by"]
    return pd.DataFrame(rows, columns=columns)


def _unreadable_registry(tracking_uri: str, exc: Exception) -> HistoryUnavailable:
    return HistoryUnavailable(
        f"Could not read the MLflow registry at {tracking_uri} ({exc}). "
        "Check that the tracking server is up and MLFLOW_TRACKING_URI points at it."
    )


def versions_frame(history: History, runs: pd.DataFrame) -> pd.DataFrame:
    """Every registered version, newest first, with its judgement, holdout metrics and training batches."""
    rows = [
        {
            "version": int(m.version),
            "production": m.serving,
            "decision": m.decision,
            "reason": m.reason,
            "changed": m.changed,
            "fixed": m.fixed,
            **{metric: m.metrics.get(metric) for metric in METRICS},
            "source_batch": m.source_batch,
            "created": m.created_at,
            "model_version": m.version,
        }
        for m in history.models
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "version",
            "production",
            "decision",
            "reason",
            "changed",
            "fixed",
            *METRICS,
            "source_batch",
            "created",
            "model_version",
        ],
    )
    frame = frame.merge(runs.rename(columns={"version": "model_version"}), on="model_version", how="left")
    return frame.drop(columns="model_version").sort_values("version", ascending=False, ignore_index=True)


def batches_frame(history: History) -> pd.DataFrame:
    """One row per batch: rows in, clean, quarantined, the decision and the version it trained."""
    rows = [
        {
            "batch": b.batch_id,
            "number at source": b.batch_number,
            "portion": b.portion,
            "received": b.received_at,
            "rows in": b.rows_in,
            "clean": b.clean_rows,
            "quarantined": b.quarantined_rows,
            "retrain": b.retrain,
            "reason": b.reason,
            "drifted features": ", ".join(b.drifted_features),
            "version trained": b.model_version,
            "outcome": b.outcome,
        }
        for b in history.batches
    ]
    return pd.DataFrame(rows)


def production_timeline(history: History) -> pd.DataFrame:
    """The version serving after each batch and its holdout metrics (no row before the first promotion)."""
    rows = [
        {"batch": b.batch_id, "version": b.production_version, **b.production_metrics}
        for b in history.batches
        if b.production_version is not None
    ]
    return pd.DataFrame(rows, columns=["batch", "version", *METRICS])


def production_on_batches(history: History) -> pd.DataFrame:
    """Production's MdAPE on each batch's clean rows and on its holdout then (long form, one row per line)."""
    rows = [
        # The number first: a long source name cut short on the axis still leaves it readable.
        {"batch": f"{b.batch_number} ({b.source})", "order": b.batch_id, "line": line, "mdape": figures["mdape"]}
        for b in history.batches
        for line, figures in (("on the batch", b.production_on_batch), ("on its holdout", b.production_on_holdout))
        if "mdape" in figures
    ]
    return pd.DataFrame(rows, columns=["batch", "order", "line", "mdape"])


def served_windows(database_url: str) -> list[ServedWindow]:
    """Every window of served traffic checked so far (tasador.monitoring.served), oldest first."""
    with _reading(database_url) as store:
        if store is None or not inspect(store.engine).has_table(t.served_windows.name):
            return []
        frame = store.served_windows()
    return [ServedWindow.model_validate(figures["window"]) for figures in frame["figures"]]


def served_drift_frame(database_url: str) -> pd.DataFrame:
    """Per window and feature of served inputs: the drift severity (1 = at its threshold) and whether flagged."""
    with _reading(database_url) as store:
        if store is None or not inspect(store.engine).has_table(t.served_windows.name):
            return pd.DataFrame(columns=["window", "feature", "severity", "flagged"])
        frame = store.served_windows()
    rows = [
        {"window": int(row["id"]), "feature": name, "severity": f.get("severity"), "flagged": bool(f.get("flagged"))}
        for row in frame.to_dict("records")
        for name, f in row["figures"]["drift"]["features"].items()
    ]
    return pd.DataFrame(rows, columns=["window", "feature", "severity", "flagged"])


def drift_frame(drift: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """A batch's per-feature drift figures as a table; lists (breaches) become text."""
    frame = pd.DataFrame.from_dict(drift, orient="index")
    frame = frame.map(lambda v: ", ".join(map(str, v)) if isinstance(v, list) else v)
    return frame.rename_axis("feature").reset_index()


# --- SHAP artifacts of a version's run -----------------------------------------------------------------
def mean_abs_shap(tracking_uri: str, run_id: str) -> dict[str, float] | None:
    """Feature -> mean |SHAP| of a version's run (the explain step's artifact), None when it has none."""
    text = _artifact_bytes(tracking_uri, run_id, SHAP_ARTIFACT)
    return None if text is None else {k: float(v) for k, v in json.loads(text).items()}


def shap_summary_png(tracking_uri: str, run_id: str) -> bytes | None:
    return _artifact_bytes(tracking_uri, run_id, SHAP_SUMMARY_PATH)


def _artifact_bytes(tracking_uri: str, run_id: str, path: str) -> bytes | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = MlflowClient(tracking_uri, tracking_uri).download_artifacts(run_id, path, tmp)
        except (MlflowException, OSError):
            return None  # a version trained before the explain step existed, or a failed upload
        return Path(local).read_bytes()


def shap_trend(shap_by_version: dict[int, dict[str, float]], top: int) -> pd.DataFrame:
    """Mean |SHAP| and rank, per version, of the `top` features of the newest version (long format)."""
    columns = ["version", "feature", "mean_abs_shap", "rank"]
    if not shap_by_version:
        return pd.DataFrame(columns=columns)
    newest = shap_by_version[max(shap_by_version)]
    followed = sorted(newest, key=lambda f: -newest[f])[:top]
    rows = []
    for version, values in sorted(shap_by_version.items()):
        ranking = sorted(values, key=lambda f: -values[f])
        for feature in followed:
            rank = ranking.index(feature) + 1 if feature in values else None
            rows.append({"version": version, "feature": feature, "mean_abs_shap": values.get(feature), "rank": rank})
    return pd.DataFrame(rows, columns=columns)
