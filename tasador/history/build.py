"""The loop's history from its two records: RAW/CLEAN (batches, quarantine, decisions) and the MLflow registry."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from tasador.monitoring.stage import stored_decision
from tasador.schema import METRICS
from tasador.settings import Settings
from tasador.store import Store

SHAP_ARTIFACT = "shap/mean_abs_shap.json"


@dataclass(frozen=True)
class ModelRecord:
    """One registered version: how it was judged and why."""

    version: str
    decision: str | None  # promoted | rejected | None (not judged yet)
    reason: str
    metrics: dict[str, float]
    source_batch: int | None
    previous_production: str | None
    serving: bool  # the alias points at it now
    top_features: list[tuple[str, float]]
    created_at: dt.datetime
    changed: str = ""  # the reason of the decision that trained it: what had changed
    fixed: str = ""  # where production's error had risen: production -> this version, on the same rows


@dataclass(frozen=True)
class BatchHistory:
    """One batch: what came in, what was kept, what was decided, which model served afterwards."""

    batch_id: int
    batch_number: int
    portion: int  # 2, 3, ... for other rows the source sent under the same batch number
    source: str  # batch numbers restart with each source: the source tells them apart
    received_at: dt.datetime
    rows_in: int
    clean_rows: int
    quarantined: dict[str, int]
    retrain: bool | None  # None: no decision recorded (rejected batch, or not processed yet)
    reason: str | None
    drift: dict[str, dict[str, Any]]  # per feature: figures as DriftReport.to_dict() writes them
    model_version: str | None
    outcome: str | None
    production_version: str | None  # serving after this batch
    production_metrics: dict[str, float] = field(default_factory=dict)
    # Production (the version serving when the batch came) priced on the batch's clean rows before the
    # decision, and on its own holdout then: the same question asked of every batch.
    production_on_batch: dict[str, float] = field(default_factory=dict)
    production_on_holdout: dict[str, float] = field(default_factory=dict)

    @property
    def quarantined_rows(self) -> int:
        return sum(self.quarantined.values())

    @property
    def drifted_features(self) -> list[str]:
        return [name for name, figures in self.drift.items() if figures.get("flagged")]


@dataclass(frozen=True)
class History:
    model_name: str
    alias: str
    generated_at: dt.datetime
    batches: list[BatchHistory]
    models: list[ModelRecord]

    @property
    def production(self) -> ModelRecord | None:
        return next((m for m in self.models if m.serving), None)


def build_history(store: Store, client: MlflowClient, settings: Settings) -> History:
    top_n = settings.configs.promotion.report.top_shap_features
    models = _models(client, settings.registered_model_name, settings.production_alias, top_n)
    by_version = {m.version: m for m in models}
    trained_for = {m.source_batch: m for m in models if m.source_batch is not None}
    decisions = _decisions(store)

    batches: list[BatchHistory] = []
    serving: str | None = None
    for record in store.batches():
        decision = decisions.get(record.id, {})
        # The decisions table names the version trained for the batch; the version's tag is the fallback.
        fallback = trained_for.get(record.id)
        version = decision.get("model_version") or (fallback.version if fallback else None)
        model = by_version.get(version) if version else None
        outcome = decision.get("outcome") or (model.decision if model else None)
        if outcome == "promoted" and version:
            serving = version
        production = by_version.get(serving) if serving else None
        batches.append(
            BatchHistory(
                batch_id=record.id,
                batch_number=record.batch_number,
                portion=record.portion,
                source=record.source,
                received_at=record.received_at,
                rows_in=record.row_count,
                clean_rows=store.count("clean_rows", record.id),
                quarantined=store.quarantine_counts(record.id),
                retrain=decision.get("retrain"),
                reason=decision.get("reason"),
                drift=_drift_features(decision.get("drift")),
                model_version=version,
                outcome=outcome,
                production_version=serving,
                production_metrics=dict(production.metrics) if production else {},
                **_production_scores(decision.get("drift")),
            )
        )
    return History(
        model_name=settings.registered_model_name,
        alias=settings.production_alias,
        generated_at=dt.datetime.now(dt.UTC),
        batches=batches,
        models=models,
    )


def _decisions(store: Store) -> dict[int, dict[str, Any]]:
    frame = store.decisions()
    frame = frame.astype(object).where(pd.notna(frame), None)
    return {int(row["batch_id"]): row for row in frame.to_dict("records", into=dict[str, Any]())}


def _drift_features(stored: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-feature figures from a decision's JSON (`{"drift": DriftReport.to_dict() or None, ...}`)."""
    report = (stored or {}).get("drift") or {}
    return dict(report.get("features", {}))


def _production_scores(stored: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """Production's figures on the batch and on its holdout, from the decision's record (none before it had one)."""
    decision = stored_decision(stored)
    score = decision.production if decision else None
    if score is None:
        return {"production_on_batch": {}, "production_on_holdout": {}}
    return {"production_on_batch": score.batch.figures(), "production_on_holdout": score.holdout.figures()}


def _models(client: MlflowClient, name: str, alias: str, top_n: int) -> list[ModelRecord]:
    versions = client.search_model_versions(f"name = '{name}'")
    serving = client.get_registered_model(name).aliases.get(alias) if versions else None
    records = [_model_record(client, v, serving, top_n) for v in versions]
    return sorted(records, key=lambda m: int(m.version))


def _model_record(client: MlflowClient, version: ModelVersion, serving: str | None, top_n: int) -> ModelRecord:
    tags = version.tags or {}
    source = tags.get("source_batch")
    return ModelRecord(
        version=str(version.version),
        decision=tags.get("decision"),
        reason=tags.get("reason", ""),
        metrics={m: float(tags[m]) for m in METRICS if m in tags},
        source_batch=int(source) if source and source.isdigit() else None,
        previous_production=tags.get("previous_production") or None,
        serving=str(version.version) == str(serving),
        top_features=_top_features(client, version.run_id, top_n),
        created_at=dt.datetime.fromtimestamp(version.creation_timestamp / 1000, dt.UTC),
        changed=tags.get("changed", ""),
        fixed=tags.get("fixed", ""),
    )


def _top_features(client: MlflowClient, run_id: str | None, n: int) -> list[tuple[str, float]]:
    """The version's largest mean |SHAP| values, when its run logged them (a run may have none yet)."""
    if not run_id:
        return []
    folder = SHAP_ARTIFACT.rsplit("/", 1)[0]
    if SHAP_ARTIFACT not in {a.path for a in client.list_artifacts(run_id, folder)}:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        values = json.loads(Path(client.download_artifacts(run_id, SHAP_ARTIFACT, tmp)).read_text())
    ranked = sorted(((str(k), float(v)) for k, v in values.items()), key=lambda kv: -kv[1])
    return ranked[:n]
