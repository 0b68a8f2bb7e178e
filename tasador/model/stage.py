"""The model stage: train a challenger (and the baseline) on the CLEAN window; explain a registered version."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd

from tasador.configs import ModelConfig
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
from tasador.registry.promotion import settle_unjudged_versions
from tasador.registry.tracking import configure_mlflow, end_abandoned_runs
from tasador.results import NO_BATCH, Promotion, RetrainDecision, ShapSummary, TrainingRun
from tasador.schema import BatchStatus
from tasador.settings import Settings
from tasador.store import Store

log = logging.getLogger(__name__)


def training_batches(store: Store, batch_id: int, window: int | None) -> list[int]:
    """CLEAN batches up to this one; the last `window` of them when a window is configured."""
    ids = [b.id for b in store.batches() if b.id <= batch_id and b.status is not BatchStatus.REJECTED]
    return ids[-window:] if window else ids


def training_data(store: Store, batch_ids: list[int], config: ModelConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_holdout(store.clean_frame(batch_ids=batch_ids), config)


def train(store: Store, settings: Settings, batch_id: int | None, decision: RetrainDecision) -> TrainingRun:
    """Train the challenger and the baseline in one MLflow run; log metrics, plots, data lineage and model."""
    if batch_id is None:
        return TrainingRun(skipped=NO_BATCH)
    settle_interrupted_attempts(settings, batch_id)
    if not decision.retrain:
        return TrainingRun(skipped=decision.skipped or f"no retraining: {decision.reason}")
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    config = settings.configs.model
    configure_mlflow(settings)
    batch_ids = training_batches(store, batch_id, config.window_batches)
    train_df, holdout_df = training_data(store, batch_ids, config)
    # Tagged as it is created: a run killed at any later point can be found by its batch.
    tags = {"source_batch": str(batch_id), "batches": ",".join(map(str, batch_ids))}
    with mlflow.start_run(run_name=f"batch-{batch_id}", tags=tags) as run:
        mlflow.log_input(
            from_pandas(train_df, name=f"clean-batches-{batch_ids[0]}-{batch_ids[-1]}", targets="price"),
            context="training",
        )
        result = train_challenger(train_df, config, config.seed)
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
    return TrainingRun(
        run_id=run.info.run_id, model_uri=model_uri, batches=batch_ids, metrics=metrics, baseline=baseline
    )


def settle_interrupted_attempts(settings: Settings, batch_id: int) -> None:
    """Close what an earlier, killed attempt at this batch left open in MLflow before trying again."""
    client = configure_mlflow(settings)
    ended = end_abandoned_runs(client, settings.experiment_name, batch_id)
    settled = settle_unjudged_versions(client, settings.registered_model_name, settings.production_alias, batch_id)
    if ended or settled:
        log.info("Batch %s: ended abandoned MLflow runs %s, settled versions %s.", batch_id, ended, settled)


def explain(store: Store, settings: Settings, batch_id: int | None, promotion: Promotion) -> ShapSummary:
    """SHAP summary (plot + mean |SHAP| per feature) of the registered version, logged to its run."""
    if batch_id is None or not promotion.ran:
        return ShapSummary(skipped=promotion.skipped)
    import mlflow

    configure_mlflow(settings)
    config = settings.configs.model
    predictor = load_predictor(f"models:/{settings.registered_model_name}/{promotion.version}")
    _, holdout_df = training_data(store, promotion.batches, config)
    sample = holdout_df.sample(n=min(len(holdout_df), config.shap_sample), random_state=config.seed)
    with tempfile.TemporaryDirectory() as tmp:
        png, js = shap_summary(predictor, sample, Path(tmp))
        with mlflow.start_run(run_id=promotion.run_id):
            mlflow.log_artifact(str(png), "shap")
            mlflow.log_artifact(str(js), "shap")
        top = _top_features(js)
    return ShapSummary(version=promotion.version, top_features=top)


def _top_features(json_path: Path, n: int = 5) -> dict[str, float]:
    import json

    values = json.loads(Path(json_path).read_text())
    return dict(sorted(values.items(), key=lambda kv: -kv[1])[:n])
