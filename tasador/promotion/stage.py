"""The promotion stage: register the challenger, judge it against production on the same holdout, move the alias."""

from __future__ import annotations

import pandas as pd

from tasador.configs import RecentHoldoutRule
from tasador.model import evaluate, load_predictor
from tasador.model.stage import training_data
from tasador.monitoring.production_check import SegmentFix, segment_fixes
from tasador.monitoring.stage import stored_decision
from tasador.promotion.replay import replay_served
from tasador.registry.production import production_model
from tasador.registry.promotion import RecentHoldout, promote_or_reject, register
from tasador.registry.tracking import configure_mlflow
from tasador.results import Decision, Promotion, TrainingRun
from tasador.schema import METRICS
from tasador.settings import Settings
from tasador.store import Store


def evaluate_and_promote(store: Store, settings: Settings, batch_id: int | None, training: TrainingRun) -> Promotion:
    """Register the challenger; move `production` to it only if it beats production on the same holdout."""
    if batch_id is None or not training.ran:
        return Promotion(skipped=training.skipped)
    client = configure_mlflow(settings)
    config, rules = settings.configs.model, settings.configs.promotion
    _, holdout_df = training_data(store, training.batches, config)
    production = production_model(settings)
    production_metrics = recent = None
    changed, decision = _recorded_decision(store, batch_id)
    fixed: list[SegmentFix] = []
    challenger = load_predictor(training.model_uri)
    if production is not None:
        production_predict = load_predictor(f"models:/{settings.registered_model_name}/{production.version}").predict
        challenger_predict = challenger.predict
        production_metrics = evaluate(production_predict, holdout_df)
        rows, label = recent_rows(store, holdout_df, training.batches, rules.recent_holdout)
        if label is not None:
            recent = RecentHoldout(label, evaluate(challenger_predict, rows), evaluate(production_predict, rows))
        if decision is not None and decision.production is not None:
            drift_config = settings.configs.drift
            fixed = segment_fixes(
                decision.production.segments, rows, production_predict, challenger_predict, drift_config
            )
    tags = {
        "source_batch": str(batch_id),
        "batches": ",".join(map(str, training.batches)),
        **{m: f"{training.metrics[m]:.6g}" for m in METRICS},
        # What changed (the decision that retrained) and, on the segments where production's error rose most,
        # both models on the same rows: what the new model fixed.
        "changed": changed,
        "fixed": "; ".join(f.describe() for f in fixed),
    }
    version = register(client, settings.registered_model_name, training.model_uri, training.run_id, tags)
    shadow = replay_served(store, challenger, rules.shadow)
    promoted, reason = promote_or_reject(
        client,
        settings.registered_model_name,
        version,
        training.metrics,
        production_metrics,
        rules,
        alias=settings.production_alias,
        shadow=shadow,
        recent=recent,
    )
    outcome = "promoted" if promoted else "rejected"
    store.record_outcome(batch_id, str(version), outcome)
    return Promotion(
        version=str(version),
        outcome=outcome,
        reason=reason,
        run_id=training.run_id,
        challenger=training.metrics,
        production=production_metrics,
        recent=None if recent is None else recent._asdict(),
        batches=training.batches,
        shadow=shadow,
    )


def recent_rows(
    store: Store, holdout_df: pd.DataFrame, batches: list[int], rules: RecentHoldoutRule
) -> tuple[pd.DataFrame, str | None]:
    """The holdout rows of the last K training batches and their label; the whole holdout (None) if too few.

    Promotion is judged there first: a challenger trained on drifted data must win on the data the service
    prices now, not on a holdout dominated by the older batches (the whole holdout stays a guard).
    """
    batches = batches[-rules.batches :]
    rows = holdout_df[holdout_df["batch_id"].isin(batches)]
    if len(rows) < rules.min_rows:
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
