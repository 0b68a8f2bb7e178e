"""Train the challenger: XGBoost on log(price) with a small seeded search and early stopping."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import mlflow
import numpy as np
import optuna
import pandas as pd
import xgboost as xgb

from tasador.configs import ModelConfig, SearchRange, Training
from tasador.model.features import FeatureEncoder
from tasador.model.predictor import Predictor
from tasador.schema import TARGET


@dataclass(frozen=True)
class TrainResult:
    predictor: Predictor
    params: dict[str, Any]  # booster parameters and rounds of the final model
    best_trial_metrics: dict[str, float]
    # CPU seconds (all threads) of each phase: encode, search, fit; where training time goes.
    phase_cpu_seconds: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class _Split:
    fit: pd.DataFrame
    validation: pd.DataFrame


def train_challenger(train_df: pd.DataFrame, config: ModelConfig, seed: int) -> TrainResult:
    """Search on a seeded sample, then fit the final model; same data and seed give the same model.

    The encodings always use every training row (they are cheap); the trees see at most
    `training.max_rows` rows, since past ~150k rows more rows buy little and cost more than linear
    time (early stopping also runs longer). Each search trial is a nested MLflow run when a run is
    active. Small data is refitted on every row with the early-stopped round count; large data keeps
    the early-stopped model. Past
    `search.large_data.above_rows` rows the search may run `search.large_data.n_trials` trials (a trial
    costs the same at any data size). `phase_cpu_seconds` says where the time went.
    """
    training, search = config.training, config.search
    cpu: dict[str, float] = {}
    with _cpu_seconds(cpu, "encode"):
        rows = trainable_rows(train_df, config)
        split = _inner_split(rows, training, seed)
        encoder = _encoder(config, seed)
        fit = _Matrix(encoder.fit_transform(split.fit), np.log(split.fit[TARGET].to_numpy()))
        validation = xgb.DMatrix(encoder.transform(split.validation), label=np.log(split.validation[TARGET]))

    with _cpu_seconds(cpu, "search"):
        searched = fit.sample(search.max_rows, seed)
        trials = search_trials(config, len(rows))
        best_params, best_rounds, best_score = _search((searched, validation), config, trials, seed)

    with _cpu_seconds(cpu, "fit"):
        if len(rows) < training.refit_below_rows:
            rounds = max(1, round(best_rounds * training.refit_rounds_factor))
            encoder = _encoder(config, seed)
            everything = xgb.DMatrix(encoder.fit_transform(rows), label=np.log(rows[TARGET]))
            booster = xgb.train(best_params, everything, num_boost_round=rounds)
        else:
            final = fit.sample(training.max_rows, seed)
            booster, rounds, _ = _fit(best_params, final, validation, training)

    params = {**best_params, "num_boost_round": rounds, "train_rows": len(rows), "search_trials": trials}
    metrics = {validation_metric(config): best_score, "best_trial_rounds": float(best_rounds)}
    return TrainResult(Predictor(encoder, booster), params, metrics, cpu)


def search_trials(config: ModelConfig, rows: int) -> int:
    """Trials of the search for `rows` trainable rows (`search.n_trials`, fewer on large data)."""
    large = config.search.large_data
    if large is not None and rows >= large.above_rows:
        return large.n_trials
    return config.search.n_trials


@contextmanager
def _cpu_seconds(into: dict[str, float], phase: str) -> Iterator[None]:
    started = time.process_time()
    try:
        yield
    finally:
        into[phase] = into.get(phase, 0.0) + time.process_time() - started


@dataclass(frozen=True)
class _Matrix:
    features: np.ndarray
    label: np.ndarray

    def sample(self, max_rows: int, seed: int) -> xgb.DMatrix:
        """A DMatrix of at most `max_rows` rows, drawn without replacement (seeded)."""
        if len(self.label) <= max_rows:
            return xgb.DMatrix(self.features, label=self.label)
        keep = np.sort(np.random.default_rng(seed).choice(len(self.label), max_rows, replace=False))
        return xgb.DMatrix(self.features[keep], label=self.label[keep])


def validation_metric(config: ModelConfig) -> str:
    """Name of the logged validation metric, e.g. val_mae_log (the booster's eval_metric on log price)."""
    return f"val_{config.training.booster['eval_metric']}_log"


def trainable_rows(train_df: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """Rows with a price inside `price_range`: $1 lots and price typos would teach the model noise."""
    low, high = config.price_range.min, config.price_range.max
    rows = train_df[train_df[TARGET].between(low, high)].reset_index(drop=True)
    if len(rows) < 20:
        raise ValueError(
            f"Only {len(rows)} training rows have a price between {low:,.0f} and {high:,.0f}; "
            "ingest more batches or widen price_range in configs/model.yaml."
        )
    return rows


def _encoder(config: ModelConfig, seed: int) -> FeatureEncoder:
    return FeatureEncoder(smoothing=config.encoding.smoothing, folds=config.encoding.folds, seed=seed)


def _inner_split(rows: pd.DataFrame, training: Training, seed: int) -> _Split:
    """Validation rows for early stopping: `validation_fraction` of the rows, at most `max_validation_rows`."""
    size = min(round(len(rows) * training.validation_fraction), training.max_validation_rows)
    validation = np.zeros(len(rows), dtype=bool)
    validation[np.random.default_rng(seed).choice(len(rows), max(size, 1), replace=False)] = True
    return _Split(rows[~validation].reset_index(drop=True), rows[validation].reset_index(drop=True))


def _search(
    data: tuple[xgb.DMatrix, xgb.DMatrix], config: ModelConfig, trials: int, seed: int
) -> tuple[dict[str, Any], int, float]:
    """(best booster params, their early-stopped rounds, their validation metric on log price)."""
    training = config.training
    fixed = {**training.booster, "nthread": training.nthread, "seed": seed}
    rounds_of: dict[int, int] = {}

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed, **_suggest(trial, config.search.space)}
        _, rounds, score = _fit(params, *data, training)
        rounds_of[trial.number] = rounds
        _log_trial(trial.number, params, rounds, validation_metric(config), score)
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is MLflow's job
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    best = study.best_trial
    if best.value is None:  # optuna gives a completed single-objective trial a value; this is a bug if not
        raise RuntimeError(f"Optuna's best trial {best.number} has no value: rerun training and report it.")
    return {**fixed, **best.params}, rounds_of[best.number], float(best.value)


def _suggest(trial: optuna.Trial, space: Mapping[str, SearchRange]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.type == "int":
            params[name] = trial.suggest_int(name, int(spec.low), int(spec.high))
        else:
            params[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
    return params


def _fit(
    params: Mapping[str, Any], fit: xgb.DMatrix, validation: xgb.DMatrix, training: Training
) -> tuple[xgb.Booster, int, float]:
    """Early-stopped booster cut at its best round, that round count, and its validation metric."""
    booster = xgb.train(
        dict(params),
        fit,
        num_boost_round=training.max_rounds,
        evals=[(validation, "validation")],
        early_stopping_rounds=training.early_stopping_rounds,
        verbose_eval=False,
    )
    rounds = booster.best_iteration + 1
    return booster[:rounds], rounds, float(booster.best_score)


def _log_trial(number: int, params: Mapping[str, Any], rounds: int, metric: str, score: float) -> None:
    if mlflow.active_run() is None:
        return
    with mlflow.start_run(run_name=f"trial-{number}", nested=True):
        mlflow.log_params({**params, "num_boost_round": rounds})
        mlflow.log_metric(metric, score)
