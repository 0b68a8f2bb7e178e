"""The whole loop, stage by stage, over a scripted sequence of batches on the embedded local stores.

first batch -> trained and promoted; a stationary batch -> no retraining, reason recorded; a drifted batch
(price inflation) -> retrained; a challenger made worse through config -> rejected with its reason, alias
unchanged. Runs tasador.loop directly (what the ZenML steps call), against real SQLite and MLflow stores.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tasador.datasource.batch import Batch
from tasador.datasource.generator import generator_from_config
from tasador.loop import clean, validate
from tasador.loop.lifecycle import train
from tasador.loop.turn import run_batch
from tasador.settings import CONFIG_DIR, Settings, load_config
from tasador.store import Store
from tasador.tracking import configure_mlflow

ROWS = 1500


def batch_rows(scenario: str, number: int) -> list[dict[str, Any]]:
    frame = generator_from_config(load_config("datasource"), scenario=scenario).batch(1, number, ROWS)
    return frame.astype(object).where(pd.notna(frame), None).to_dict("records")


def process(store: Store, settings: Settings, number: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One turn of the loop, as the training pipeline runs it."""
    payload = {"source": "scripted", "group_number": 1, "batch_number": number, "rows": rows, "day": None}
    return run_batch(store, settings, payload)


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
    assert first["decision"]["retrain"] and "no production model" in first["decision"]["reason"]
    assert first["promotion"]["outcome"] == "promoted"
    assert production_alias(settings) == first["promotion"]["version"]
    assert first["explanation"]["top_features"]

    calm = process(store, settings, 2, batch_rows("stationary", 2))
    assert calm["decision"]["retrain"] is False
    assert calm["decision"]["reason"]
    assert calm["training"] == {"skipped": True}
    recorded = store.decisions().set_index("batch_id")
    assert not recorded.loc[calm["batch_id"], "retrain"]
    assert recorded.loc[calm["batch_id"], "reason"] == calm["decision"]["reason"]

    drifted = process(store, settings, 3, batch_rows("inflation", 12))
    assert drifted["decision"]["retrain"], drifted["decision"]["reason"]
    assert "price" in drifted["decision"]["reason"]
    assert drifted["promotion"]["outcome"] in {"promoted", "rejected"}
    production_before = production_alias(settings)

    # A challenger crippled by config (a stump with a handful of rounds) must lose to production.
    model_config = cripple(yaml.safe_load((configs / "model.yaml").read_text()))
    (configs / "model.yaml").write_text(yaml.safe_dump(model_config))
    worse = process(store, settings, 4, batch_rows("inflation", 13))
    assert worse["decision"]["retrain"]
    assert worse["promotion"]["outcome"] == "rejected"
    assert worse["promotion"]["reason"]
    assert production_alias(settings) == production_before
    client = configure_mlflow(settings)
    tags = client.get_model_version(settings.registered_model_name, worse["promotion"]["version"]).tags
    assert tags["decision"] == "rejected" and tags["reason"] == worse["promotion"]["reason"]


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
    first = train(store, settings, batch_id, {"retrain": True})
    second = train(store, settings, batch_id, {"retrain": True})
    assert first["run_id"] != second["run_id"]
    assert first["metrics"] == second["metrics"]
