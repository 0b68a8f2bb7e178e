"""The whole loop, stage by stage, over a scripted sequence of batches on the embedded local stores.

first batch -> trained and promoted; a stationary batch -> no retraining, reason recorded; a drifted batch
(price inflation) -> retrained; a challenger made worse through config -> rejected with its reason, alias
unchanged. Runs tasador.loop directly (what the ZenML steps call), against real SQLite and MLflow stores.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tasador.cleaning.stage import clean
from tasador.configs import CONFIG_DIR
from tasador.data_api.generator import generator_from_config
from tasador.model.stage import train
from tasador.monitoring.served import check_served
from tasador.registry.tracking import configure_mlflow
from tasador.results import FetchedBatch, RetrainDecision, Turn
from tasador.schema import Batch
from tasador.serving.inference_log import COLUMNS as LOG_COLUMNS
from tasador.serving.inference_log import LoggedRow
from tasador.settings import Settings
from tasador.store import Store, tables
from tasador.store.bulk import insert_rows
from tasador.validation.stage import validate
from tests.support.turn import run_batch

ROWS = 1500


def batch_rows(scenario: str, number: int) -> list[dict[str, Any]]:
    frame = generator_from_config(Settings().configs.datasource, scenario=scenario).batch(1, number, ROWS)
    return frame.astype(object).where(pd.notna(frame), None).to_dict("records")


def process(store: Store, settings: Settings, number: int, rows: list[dict[str, Any]]) -> Turn:
    """One turn of the loop, as the training pipeline runs it."""
    return run_batch(store, settings, FetchedBatch(batch=Batch("scripted", 1, number, rows)))


@pytest.fixture
def loop_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, Settings, Path]:
    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    monkeypatch.setenv("TASADOR_CONFIG_DIR", str(configs))
    settings = Settings(
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'tasador.db'}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    return Store(settings.database_url), settings, configs


def production_alias(settings: Settings) -> str | None:
    client = configure_mlflow(settings)
    try:
        return str(client.get_model_version_by_alias(settings.registered_model_name, settings.production_alias).version)
    except Exception:
        return None


@pytest.mark.slow
def test_scripted_sequence(loop_env: tuple[Store, Settings, Path]) -> None:
    store, settings, configs = loop_env

    first = process(store, settings, 1, batch_rows("stationary", 1))
    assert first.decision.retrain and "no production model" in first.decision.reason
    assert first.promotion.outcome == "promoted"
    assert production_alias(settings) == first.promotion.version
    assert first.explanation.top_features

    calm = process(store, settings, 2, batch_rows("stationary", 2))
    assert calm.decision.retrain is False
    assert calm.decision.reason
    assert calm.training.skipped and not calm.training.ran
    recorded = store.decisions().set_index("batch_id")
    assert not recorded.loc[calm.batch_id, "retrain"]
    assert recorded.loc[calm.batch_id, "reason"] == calm.decision.reason

    drifted = process(store, settings, 3, batch_rows("inflation", 12))
    assert drifted.decision.retrain, drifted.decision.reason
    assert "price" in drifted.decision.reason
    assert drifted.promotion.outcome in {"promoted", "rejected"}
    production_before = production_alias(settings)

    # A challenger crippled by config (a stump with a handful of rounds) must lose to production.
    # The same drift again, a batch later: no storm, the decision says what it waits for.
    again = process(store, settings, 4, batch_rows("inflation", 13)).decision
    assert not again.retrain, again.reason
    assert again.reason.startswith("drift as at the last training (batch 3 of scripted, ")
    assert ": waiting for a further change" in again.reason

    # A further change (a quarter of the listings from a state never seen) retrains; a challenger crippled by
    # config (a stump with a handful of rounds) must lose to production.
    model_config = cripple(yaml.safe_load((configs / "model.yaml").read_text()))
    (configs / "model.yaml").write_text(yaml.safe_dump(model_config))
    settings = Settings(**settings.model_dump(exclude_unset=True))  # each Settings reads configs/ once
    worse = process(store, settings, 5, batch_rows("new_state", 8))
    assert worse.decision.retrain, worse.decision.reason
    assert "beyond the last training (batch 3 of scripted" in worse.decision.reason
    assert worse.promotion.outcome == "rejected"
    assert worse.promotion.reason
    assert production_alias(settings) == production_before
    client = configure_mlflow(settings)
    tags = client.get_model_version(settings.registered_model_name, worse.promotion.version).tags
    assert tags["decision"] == "rejected" and tags["reason"] == worse.promotion.reason


def cripple(config: dict[str, Any]) -> dict[str, Any]:
    """The same config with a model that cannot learn much: one trial of stumps, three rounds."""
    config["search"]["n_trials"] = 1
    config["search"]["space"]["max_depth"] = {"low": 1, "high": 1, "type": "int"}
    config["training"]["max_rounds"] = 3
    return config


@pytest.mark.slow
def test_same_seeds_and_batches_give_the_same_metrics(loop_env: tuple[Store, Settings, Path]) -> None:
    store, settings, _ = loop_env
    rows = batch_rows("stationary", 1)
    batch_id = store.ingest_raw(Batch("scripted", 1, 1, rows)).batch_id
    clean(store, settings, batch_id, validate(store, settings, batch_id))
    first = train(store, settings, batch_id, RetrainDecision(retrain=True))
    second = train(store, settings, batch_id, RetrainDecision(retrain=True))
    assert first.run_id != second.run_id
    assert first.metrics == second.metrics


@pytest.mark.slow
def test_decisions_name_what_changed(loop_env: tuple[Store, Settings, Path]) -> None:
    """Stationary past the volume threshold: no retraining, said so; prices inflated with the same inputs:
    production's error rose, by how much and where; a batch of duplicates: nothing new to judge."""
    store, settings, configs = loop_env
    drift_config = yaml.safe_load((configs / "drift.yaml").read_text())
    drift_config["retrain"]["min_new_rows"] = 2 * ROWS - 100  # a few rows of each batch are quarantined
    (configs / "drift.yaml").write_text(yaml.safe_dump(drift_config))

    assert process(store, settings, 1, batch_rows("stationary", 1)).promotion.outcome == "promoted"
    assert not process(store, settings, 2, batch_rows("stationary", 2)).decision.retrain
    calm = process(store, settings, 3, batch_rows("stationary", 3)).decision
    assert not calm.retrain, calm.reason
    clean_rows = store.count("clean_rows", 2) + store.count("clean_rows", 3)
    assert calm.reason.startswith(f"{clean_rows:,} new rows since the last training, but nothing changed (no drift")
    assert "production's MdAPE" in calm.reason

    # The inflation scenario draws the stationary inputs: only the prices moved (+31.6 % by batch 8).
    inflated_rows = batch_rows("inflation", 8)
    inflated = process(store, settings, 4, inflated_rows)
    decision = inflated.decision
    assert decision.retrain, decision.reason
    score = decision.record.decision.production
    assert score.decay.fired and score.decay.batch_bias < -15
    assert "production's error rose: MdAPE" in decision.reason
    assert f"median error {score.decay.batch_bias:+.1f}%" in decision.reason
    assert ", most in " in decision.reason and "→" in decision.reason
    assert inflated.promotion.outcome in {"promoted", "rejected"}
    assert "recent holdout (batch" in inflated.promotion.reason
    assert "whole holdout" in inflated.promotion.reason
    # The version says what changed and, where production's error rose most, what it fixed on the same rows.
    trained = configure_mlflow(settings).get_model_version(settings.registered_model_name, inflated.promotion.version)
    assert trained.tags["changed"] == decision.reason
    assert "→" in trained.tags["fixed"]
    # Production's figures on the batch are on its MLflow run, one step per batch.
    client = configure_mlflow(settings)
    history = client.get_metric_history(
        client.get_model_version(settings.registered_model_name, "1").run_id, "batch_mdape"
    )
    assert [m.step for m in history] == [2, 3, 4]
    assert history[-1].value == pytest.approx(score.batch.mdape)

    duplicates = process(store, settings, 5, inflated_rows).decision
    assert not duplicates.retrain
    assert duplicates.reason.startswith("nothing new to judge: ")
    assert f"of {len(inflated_rows):,} rows were duplicates" in duplicates.reason


def log_requests(store: Store, rows: list[dict[str, Any]], request: str, version: str) -> None:
    """Rows the service answered, written as its inference log writes them."""
    received = dt.datetime.now(dt.UTC)
    logged = [
        LoggedRow(
            f"{request}-{i // 100}", i % 100, received, version, {k: v for k, v in row.items() if k != "price"}, 2e5
        )
        for i, row in enumerate(rows)
    ]
    with store.engine.begin() as conn:
        insert_rows(conn, tables.inference_log, LOG_COLUMNS, (row.values() for row in logged))


@pytest.mark.slow
def test_requests_from_a_state_never_trained_on_flag_served_drift(loop_env: tuple[Store, Settings, Path]) -> None:
    store, settings, _ = loop_env
    version = process(store, settings, 1, batch_rows("stationary", 1)).promotion.version

    log_requests(store, batch_rows("stationary", 2), "calm", version)
    calm = check_served(store, settings)
    assert calm is not None and calm.rows == ROWS and calm.requests == ROWS // 100
    assert "state" not in [f.name for f in calm.drifted]
    assert calm.predictions.p50 == 2e5

    # A quarter of the listings from Puerto Rico, held back from every batch the model trained on.
    log_requests(store, batch_rows("new_state", 8), "new", version)
    window = process(store, settings, 2, batch_rows("stationary", 2)).served
    assert window.ran
    assert window.window["first_log_id"] == calm.last_log_id + 1
    state = next(f for f in window.window["drifted"] if f["name"] == "state")
    assert "never seen" in state["breaches"][0]
    assert window.drifted >= 1
    assert len(store.served_windows()) == 2
    assert check_served(store, settings) is None  # nothing new since
