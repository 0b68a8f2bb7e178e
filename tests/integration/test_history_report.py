"""The model history report from a scripted loop: real RAW/CLEAN (SQLite), real MLflow store, real cleaning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from tasador.cleaning.clean import clean_batch
from tasador.data_api.generator import generator_from_config
from tasador.history import History, build_history, report_models, write_report
from tasador.monitoring.decision import decide
from tasador.monitoring.drift import DriftReport, drift_report
from tasador.registry.promotion import promote_or_reject, register
from tasador.registry.tracking import configure_mlflow
from tasador.results import Decision, DecisionRecord
from tasador.schema import Batch
from tasador.settings import Settings
from tasador.store import Store

ROWS = 400
SHAP = {"zip_log_price": 0.41, "house_size": 0.22, "state_log_price": 0.18, "bath": 0.05, "bed": 0.04, "x": 0.01}
FIRST = {"rmse": 0.52, "mae": 0.38, "mdape": 24.0, "r2_log": 0.61}
WORSE = {"rmse": 0.55, "mae": 0.40, "mdape": 26.0, "r2_log": 0.58}
BETTER = {"rmse": 0.47, "mae": 0.33, "mdape": 20.5, "r2_log": 0.68}


@dataclass(frozen=True)
class Loop:
    settings: Settings
    store: Store
    client: MlflowClient
    batch_ids: list[int]


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    """Four batches: a first model (promoted), new-state drift (retrained, rejected), a quiet batch
    (not retrained), a size shift (retrained, promoted)."""
    home = tmp_path_factory.mktemp("home")
    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'tasador.db'}", mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}"
    )
    store, client = Store(settings.database_url), configure_mlflow(settings)
    source = Settings().configs.datasource
    frames = [
        generator_from_config(source, scenario=scenario).batch(group, number, ROWS)
        for scenario, group, number in [
            ("stationary", 1, 1),
            ("new_state", 2, 7),
            ("stationary", 3, 9),
            ("size_shift", 4, 7),
        ]
    ]
    frames[0].loc[0, "price"] = -5.0  # one row the cleaning quarantines, with its reason
    batch_ids = [_ingest_and_clean(store, number, frame) for number, frame in enumerate(frames, start=1)]

    name, drift_config, promotion = (
        settings.registered_model_name,
        Settings().configs.drift,
        Settings().configs.promotion,
    )
    production, trained_on = None, None
    for batch_id, challenger in zip(batch_ids, [FIRST, WORSE, None, BETTER], strict=True):
        current = store.clean_frame(batch_ids=[batch_id])
        drift = drift_report(store.clean_frame(batch_ids=[trained_on]), current, drift_config) if trained_on else None
        decision = decide(production is not None, drift, len(current), drift_config)
        assert decision.retrain == (challenger is not None), decision.reason
        store.save_decision(batch_id, decision.retrain, decision.reason, record(decision, drift))
        if challenger is None:
            continue
        version = _train_stand_in(client, name, batch_id, challenger)
        promoted, _ = promote_or_reject(client, name, version, challenger, production, promotion)
        store.record_outcome(batch_id, version, "promoted" if promoted else "rejected")
        if promoted:
            production, trained_on = challenger, batch_id
    yield Loop(settings, store, client, batch_ids)
    store.dispose()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _ingest_and_clean(store: Store, number: int, frame: pd.DataFrame) -> int:
    rows = json.loads(frame.to_json(orient="records"))
    batch_id = store.ingest_raw(Batch("synthetic:test", 1, number, rows)).batch_id
    clean_batch(store, batch_id, Settings().configs.cleaning)
    return batch_id


def _train_stand_in(client: MlflowClient, name: str, batch_id: int, metrics: dict[str, float]) -> str:
    """What training leaves behind, minus the model itself: a run with SHAP values and a version."""
    with mlflow.start_run() as run:
        mlflow.log_dict({k: v * (1 + batch_id / 10) for k, v in SHAP.items()}, "shap/mean_abs_shap.json")
    return register(client, name, f"runs:/{run.info.run_id}/model", run.info.run_id, {"source_batch": batch_id})


@pytest.fixture(scope="module")
def history(loop: Loop) -> History:
    return build_history(loop.store, loop.client, loop.settings)


def test_every_batch_has_its_rows_decision_and_outcome(loop: Loop, history: History) -> None:
    assert [b.batch_id for b in history.batches] == loop.batch_ids
    first, drifted, quiet, shifted = history.batches
    assert first.rows_in == ROWS
    assert first.quarantined_rows == loop.store.count("quarantine", first.batch_id) >= 1
    assert first.clean_rows + first.quarantined_rows == ROWS
    assert (first.reason, first.outcome, first.model_version) == ("no production model yet", "promoted", "1")
    assert drifted.reason.startswith("drift in state (") and drifted.outcome == "rejected"
    assert "state" in drifted.drifted_features
    assert not quiet.retrain and quiet.reason.startswith("no drift and only") and quiet.model_version is None
    assert shifted.outcome == "promoted" and "house_size" in shifted.drifted_features


def test_production_metrics_follow_the_alias_over_batches(history: History) -> None:
    assert [b.production_version for b in history.batches] == ["1", "1", "1", "3"]
    assert [b.production_metrics["mdape"] for b in history.batches] == [24.0, 24.0, 24.0, 20.5]
    assert history.production is not None and history.production.version == "3"


def test_versions_carry_decision_reason_and_top_shap_features(history: History) -> None:
    v1, v2, v3 = history.models
    assert (v1.decision, v2.decision, v3.decision) == ("promoted", "rejected", "promoted")
    assert v2.reason == "challenger mdape 26.0% vs production 24.0% (+8.3%, margin 1%): not better by the margin"
    assert v3.previous_production == "1" and v3.serving and not v1.serving
    assert [name for name, _ in v3.top_features] == ["zip_log_price", "house_size", "state_log_price", "bath", "bed"]


def test_report_renders_markdown_html_and_plots(history: History, tmp_path: Path) -> None:
    md_path, html_path = write_report(history, tmp_path / "report")

    markdown, html = md_path.read_text(), html_path.read_text()
    batch_rows = [line for line in markdown.splitlines() if line.startswith("| ") and "UTC |" in line]
    assert len(batch_rows) == 4
    assert batch_rows[1].startswith("| 2 |") and "| drift in state (" in batch_rows[1]
    rejected = next(line for line in markdown.splitlines() if line.startswith("| 2 | rejected |"))
    assert "challenger mdape 26.0% vs production 24.0%" in rejected
    promoted = next(line for line in markdown.splitlines() if line.startswith("| 3 (serving) | promoted |"))
    # version | decision | why | mdape | rmse | mae | r2_log | trained on batch | replaced | top SHAP features
    assert [cell.strip() for cell in rejected.split("|")[4:10]] == ["26.0%", "$1", "$0", "0.580", "2", "-"]
    assert promoted.split("|")[9].strip() == "1"  # only a promoted version replaced one
    assert "Typical price of the zip code (zip_log_price) (" in markdown
    assert html.count("<tr class=") == 4 + 3  # four batches, three versions
    assert "26.0% vs production 24.0%" in html
    for png in ("production_metrics.png", "drift_by_feature.png"):
        assert (md_path.parent / png).read_bytes().startswith(b"\x89PNG")
        assert f"]({png})" in markdown and f'src="{png}"' in html


def test_report_models_uses_the_settings_stores(loop: Loop) -> None:
    md_path, html_path = report_models(loop.settings)
    assert md_path == loop.settings.reports_dir / loop.store.folder_name / "models" / "models.md"
    assert html_path.exists()
    assert "serves version **3**" in md_path.read_text()


def test_empty_history_renders_a_report_that_says_so(tmp_path: Path) -> None:
    empty = History("tasador-price", "production", pd.Timestamp.now(tz="UTC"), batches=[], models=[])
    md_path, html_path = write_report(empty, tmp_path / "out")
    assert "No version serves as `production` yet." in md_path.read_text()
    assert (tmp_path / "out" / "drift_by_feature.png").exists() and html_path.exists()


def record(decision: Decision, drift: DriftReport | None) -> dict:
    """The decision's JSON as the loop stores it."""
    return DecisionRecord(drift=None if drift is None else drift.to_dict(), decision=decision).model_dump(mode="json")
