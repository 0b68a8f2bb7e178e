"""Train a challenger, compare it with production on the same holdout, register, promote or reject, explain."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from tasador.decision import Decision
from tasador.loop.models import METRICS, production_model
from tasador.loop.monitor import stored_decision
from tasador.model import (
    evaluate,
    evaluation_plots,
    load_predictor,
    log_model,
    shap_summary,
    split_holdout,
    train_baseline,
    train_challenger,
)
from tasador.production_check import SegmentFix, segment_fixes
from tasador.registry import RecentHoldout, promote_or_reject, register, settle_unjudged_versions
from tasador.schema import BatchStatus
from tasador.settings import Settings, load_config
from tasador.shadow import ShadowConfig, replay_served
from tasador.store import Store
from tasador.tracking import configure_mlflow, end_abandoned_runs

log = logging.getLogger(__name__)


def training_batches(store: Store, batch_id: int, window: int | None) -> list[int]:
    """CLEAN batches up to this one; the last `window` of them when a window is configured."""
    ids = [b.id for b in store.batches() if b.id <= batch_id and b.status is not BatchStatus.REJECTED]
    return ids[-window:] if window else ids


def training_data(store: Store, batch_ids: list[int], config: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_holdout(store.clean_frame(batch_ids=batch_ids), config)


def train(store: Store, settings: Settings, batch_id: int | None, decision: dict[str, Any]) -> dict[str, Any]:
    """Train the challenger and the baseline in one MLflow run; log metrics, plots, data lineage and model."""
    if batch_id is None:
        return {"skipped": True}
    settle_interrupted_attempts(settings, batch_id)
    if not decision.get("retrain"):
        return {"skipped": True}
    import mlflow

    config = load_config("model")
    configure_mlflow(settings)
    batch_ids = training_batches(store, batch_id, config.get("window_batches"))
    train_df, holdout_df = training_data(store, batch_ids, config)
    # Tagged as it is created: a run killed at any later point can be found by its batch.
    tags = {"source_batch": str(batch_id), "batches": ",".join(map(str, batch_ids))}
    with mlflow.start_run(run_name=f"batch-{batch_id}", tags=tags) as run:
        mlflow.log_input(
            mlflow.data.from_pandas(train_df, name=f"clean-batches-{batch_ids[0]}-{batch_ids[-1]}", targets="price"),
            context="training",
        )
        result = train_challenger(train_df, config, int(config["seed"]))
        metrics = evaluate(result.predictor.predict, holdout_df)
        baseline = evaluate(train_baseline(train_df).predict, holdout_df)
        mlflow.log_params(result.params)
        mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics.items()})
        mlflow.log_metrics({f"baseline_{k}": v for k, v in baseline.items()})
        mlflow.log_metrics({"train_rows": len(train_df), "holdout_rows": len(holdout_df)})
        with tempfile.TemporaryDirectory() as tmp:
            y_true = holdout_df["price"].to_numpy()
            for path in evaluation_plots(y_true, result.predictor.predict(holdout_df), Path(tmp)):
                mlflow.log_artifact(str(path), "evaluation")
        model_uri = log_model(result.predictor, input_example=holdout_df.drop(columns=["price"]).head(5))
    return {
        "skipped": False,
        "run_id": run.info.run_id,
        "model_uri": model_uri,
        "batches": batch_ids,
        "metrics": metrics,
        "baseline": baseline,
    }


def settle_interrupted_attempts(settings: Settings, batch_id: int) -> None:
    """Close what an earlier, killed attempt at this batch left open in MLflow before trying again."""
    client = configure_mlflow(settings)
    ended = end_abandoned_runs(client, settings.experiment_name, batch_id)
    settled = settle_unjudged_versions(client, settings.registered_model_name, settings.production_alias, batch_id)
    if ended or settled:
        log.info("Batch %s: ended abandoned MLflow runs %s, settled versions %s.", batch_id, ended, settled)


def evaluate_and_promote(
    store: Store, settings: Settings, batch_id: int | None, training: dict[str, Any]
) -> dict[str, Any]:
    """Register the challenger; move `production` to it only if it beats production on the same holdout."""
    if batch_id is None or training.get("skipped"):
        return {"skipped": True}
    client = configure_mlflow(settings)
    config, rules = load_config("model"), load_config("promotion")
    _, holdout_df = training_data(store, training["batches"], config)
    production = production_model(settings)
    production_metrics = recent = None
    changed, decision = _recorded_decision(store, batch_id)
    fixed: list[SegmentFix] = []
    challenger = load_predictor(training["model_uri"])
    if production is not None:
        production_predict = load_predictor(f"models:/{settings.registered_model_name}/{production.version}").predict
        challenger_predict = challenger.predict
        production_metrics = evaluate(production_predict, holdout_df)
        rows, label = recent_rows(store, holdout_df, training["batches"], rules["recent_holdout"])
        if label is not None:
            recent = RecentHoldout(label, evaluate(challenger_predict, rows), evaluate(production_predict, rows))
        if decision is not None and decision.production is not None:
            drift_config = load_config("drift")
            fixed = segment_fixes(
                decision.production.segments, rows, production_predict, challenger_predict, drift_config
            )
    tags = {
        "source_batch": str(batch_id),
        "batches": ",".join(map(str, training["batches"])),
        **{m: f"{training['metrics'][m]:.6g}" for m in METRICS},
        # What changed (the decision that retrained) and, on the segments where production's error rose most,
        # both models on the same rows: what the new model fixed.
        "changed": changed,
        "fixed": "; ".join(f.describe() for f in fixed),
    }
    version = register(client, settings.registered_model_name, training["model_uri"], training["run_id"], tags)
    shadow = replay_served(store, challenger, ShadowConfig.model_validate(rules["shadow"]))
    promoted, reason = promote_or_reject(
        client,
        settings.registered_model_name,
        version,
        training["metrics"],
        production_metrics,
        rules,
        alias=settings.production_alias,
        shadow=shadow,
        recent=recent,
    )
    outcome = "promoted" if promoted else "rejected"
    store.record_outcome(batch_id, str(version), outcome)
    return {
        "skipped": False,
        "version": str(version),
        "outcome": outcome,
        "reason": reason,
        "run_id": training["run_id"],
        "challenger": training["metrics"],
        "production": production_metrics,
        "recent": None if recent is None else recent._asdict(),
        "batches": training["batches"],
        "shadow": shadow.model_dump(),
    }


def recent_rows(
    store: Store, holdout_df: pd.DataFrame, batches: list[int], rules: dict[str, Any]
) -> tuple[pd.DataFrame, str | None]:
    """The holdout rows of the last K training batches and their label; the whole holdout (None) if too few.

    Promotion is judged there first: a challenger trained on drifted data must win on the data the service
    prices now, not on a holdout dominated by the older batches (the whole holdout stays a guard).
    """
    batches = batches[-int(rules["batches"]) :]
    rows = holdout_df[holdout_df["batch_id"].isin(batches)]
    if len(rows) < int(rules["min_rows"]):
        return holdout_df, None
    numbers = [store.batch(b).batch_number for b in (batches[0], batches[-1])]
    span = f"batch {numbers[0]}" if len(batches) == 1 else f"batches {numbers[0]}-{numbers[1]}"
    return rows, f"{span}, {len(rows):,} rows"


def _recorded_decision(store: Store, batch_id: int) -> tuple[str, Decision | None]:
    """The reason and the typed decision the batch's record keeps ("" and None without one)."""
    decisions = store.decisions()
    row = decisions[decisions["batch_id"] == batch_id]
    if row.empty:
        return "", None
    return str(row.iloc[0]["reason"]), stored_decision(row.iloc[0]["drift"])


def explain(store: Store, settings: Settings, batch_id: int | None, promotion: dict[str, Any]) -> dict[str, Any]:
    """SHAP summary (plot + mean |SHAP| per feature) of the registered version, logged to its run."""
    if batch_id is None or promotion.get("skipped"):
        return {"skipped": True}
    import mlflow

    configure_mlflow(settings)
    config = load_config("model")
    predictor = load_predictor(f"models:/{settings.registered_model_name}/{promotion['version']}")
    _, holdout_df = training_data(store, promotion["batches"], config)
    sample = holdout_df.sample(n=min(len(holdout_df), int(config["shap_sample"])), random_state=int(config["seed"]))
    with tempfile.TemporaryDirectory() as tmp:
        png, js = shap_summary(predictor, sample, Path(tmp))
        with mlflow.start_run(run_id=promotion["run_id"]):
            mlflow.log_artifact(str(png), "shap")
            mlflow.log_artifact(str(js), "shap")
        top = _top_features(js)
    return {"skipped": False, "version": promotion["version"], "top_features": top}


def _top_features(json_path: Path, n: int = 5) -> dict[str, float]:
    import json

    values = json.loads(Path(json_path).read_text())
    return dict(sorted(values.items(), key=lambda kv: -kv[1])[:n])
