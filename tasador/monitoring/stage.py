"""Judge the new clean batch: drift against production's training data, production priced on it, the decision.

Production is priced on every batch's clean rows before anything is decided (tasador/monitoring/production_check.py);
the figures go in the batch's decision record, on the production version's MLflow run (step = batch id)
and, at the end of the run, to Prometheus (tasador/monitoring/loop_metrics.py).
"""

from __future__ import annotations

import tempfile
from typing import Any

import pandas as pd

from tasador.configs import DriftConfig
from tasador.model import load_predictor, split_holdout
from tasador.monitoring.decision import decide, nothing_new, unseen_states
from tasador.monitoring.drift import drift_report
from tasador.monitoring.production_check import score_production
from tasador.monitoring.served import check_served
from tasador.registry.production import ProductionModel, production_model
from tasador.registry.tracking import configure_mlflow
from tasador.results import (
    CleanSummary,
    Decision,
    DecisionRecord,
    LastTraining,
    ProductionScore,
    RetrainDecision,
    ServedCheck,
)
from tasador.settings import Settings
from tasador.store import Store


def check_and_decide(store: Store, settings: Settings, batch_id: int | None, cleaned: CleanSummary) -> RetrainDecision:
    """Record, for every processed batch, whether to retrain, why, and the figures behind it."""
    if batch_id is None or not cleaned.ran:
        return RetrainDecision(skipped=cleaned.skipped)
    config = settings.configs.drift
    production = production_model(settings)
    last = last_training(store, batch_id, config.decay.unseen.reason_min_excess)
    rows_since = rows_since_training(store, production, last, batch_id)
    drift = None
    if not cleaned.clean:
        decision = nothing_new(
            cleaned.rows_in,
            cleaned.top_reasons,
            rows_since,
            config.retrain.min_new_rows,
        )
    else:
        current = store.clean_frame(batch_ids=[batch_id])
        score = None
        if production is not None and production.batches:
            known = store.clean_frame(batch_ids=production.batches)
            drift = drift_report(known, current, config)
            score = price_production(settings, production, known, current, config)
            if score is not None:
                log_production_score(settings, production, batch_id, score)
        decision = decide(production is not None, drift, rows_since, config, production=score, last_training=last)
    record = DecisionRecord(
        drift=drift.to_dict() if drift is not None else None,
        production_version=production.version if production else None,
        decision=decision,
    )
    store.save_decision(batch_id, decision.retrain, decision.reason, record.model_dump(mode="json"))
    return RetrainDecision(retrain=decision.retrain, reason=decision.reason, record=record)


def served_stage(store: Store, settings: Settings, batch_id: int | None, _: RetrainDecision) -> ServedCheck:
    """The loop's monitoring stage: check the served traffic since the last batch (any batch, or none)."""
    window = check_served(store, settings)
    if window is None:
        return ServedCheck(skipped="no production model, or no served traffic since the last check")
    return ServedCheck(window=window.model_dump(mode="json"), drifted=len(window.drifted))


def price_production(
    settings: Settings,
    production: ProductionModel,
    known: pd.DataFrame,
    current: pd.DataFrame,
    config: DriftConfig,
) -> ProductionScore | None:
    """Production's figures on the batch against its holdout (the holdout rows of its training batches)."""
    _, holdout = split_holdout(known, settings.configs.model)
    with tempfile.TemporaryDirectory() as tmp:
        predictor = load_predictor(f"models:/{settings.registered_model_name}/{production.version}", tmp)
    return score_production(production.version, predictor.predict, known, holdout, current, config)


def log_production_score(
    settings: Settings, production: ProductionModel, batch_id: int, score: ProductionScore
) -> None:
    """Production's figures on this batch as metrics of its own MLflow run, one step per batch."""
    client = configure_mlflow(settings)
    figures = {
        "batch_mdape": score.batch.mdape,
        "batch_rmse": score.batch.rmse,
        "batch_decay": float(score.decay.fired),
        **({"batch_r2_log": score.batch.r2_log} if score.batch.r2_log is not None else {}),
    }
    for key, value in figures.items():
        client.log_metric(production.run_id, key, value, step=batch_id)


def last_training(store: Store, batch_id: int, min_excess: float) -> LastTraining | None:
    """The latest batch before `batch_id` whose decision trained a model that was then judged."""
    decisions = store.decisions()
    earlier = decisions[(decisions["batch_id"] < batch_id) & decisions["outcome"].notna()]
    if earlier.empty:
        return None
    row = earlier.iloc[-1]
    record = store.batch(int(row["batch_id"]))
    stored = stored_decision(row["drift"])
    waited = decisions[(decisions["batch_id"] > row["batch_id"]) & (decisions["batch_id"] < batch_id)]
    batches_waited = sum(
        1 for figures in waited["drift"] if (later := stored_decision(figures)) and later.trigger == "waiting"
    )
    return LastTraining(
        batch_id=record.id,
        batch_number=record.batch_number,
        source=record.source,
        outcome=row["outcome"],
        drifted=stored.drifted if stored else [],
        decay_severity=_decay_severity(stored),
        unseen_states=unseen_states(stored.production, min_excess) if stored else [],
        batches_waited=batches_waited,
    )


def rows_since_training(
    store: Store, production: ProductionModel | None, last: LastTraining | None, batch_id: int
) -> int:
    """CLEAN rows that arrived after the last training (promoted or not), this batch included.

    Without a training in the decisions (a registry filled elsewhere), after production's last batch.
    """
    since = max(production.batches) if production and production.batches else 0
    if last is not None:
        since = last.batch_id
    ids = [b.id for b in store.batches() if since < b.id <= batch_id]
    return sum(store.count("clean_rows", b) for b in ids)


def stored_decision(figures: Any) -> Decision | None:
    """The typed decision kept in a decision's JSON; None for records written before it was kept."""
    stored = (figures or {}).get("decision") if isinstance(figures, dict) else None
    return None if stored is None else Decision.model_validate(stored)


def _decay_severity(stored: Decision | None) -> float | None:
    if stored is None or stored.production is None or not stored.production.decay.fired:
        return None
    return stored.production.decay.severity
