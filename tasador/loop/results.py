"""What each stage of the loop hands the next: one pydantic model per stage output.

A step returns its stage's model as a named ZenML artifact (ZenML's pydantic materializer), so the dashboard
shows what each stage decided. A stage that did nothing says why in `skipped`: the stages after it read that
instead of looking for missing keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasador.monitoring.decision import Decision
from tasador.registry.shadow import ShadowReplay
from tasador.schema import Batch

NO_BATCH = "the source has no batch left"
"""Why every stage after ingest skips when the run fetched no batch."""


class StageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    skipped: str | None = None
    """Why the stage did nothing (None when it ran)."""

    @property
    def ran(self) -> bool:
        return self.skipped is None


class FetchedBatch(BaseModel):
    """What ingest fetched: the source's next batch, the unfinished batch's id in RAW, or the source's last word."""

    model_config = ConfigDict(frozen=True)

    batch: Batch | None = None
    """The source's next batch, rows as received (None when exhausted or taken up again)."""
    pending_batch_id: int | None = None
    """Set when a failed or killed run left this batch unfinished in RAW: it is taken up again by id."""
    exhausted: str | None = None
    """The source's own words when it has no batch left (None otherwise)."""


class DataReport(StageResult):
    """The Great Expectations report of the batch, or its rejection."""

    redelivered: bool = False
    """The same rows came again: the batch was judged the first time, nothing is redone."""
    rejected: str | None = None
    """Why the whole batch was rejected (None when it was not)."""
    success: bool | None = None
    html_path: str | None = None
    json_path: str | None = None
    hard_failures: dict[int, str] = Field(default_factory=dict)
    """RAW row id -> reason, for the rows the report failed: cleaning quarantines them at stage "validation"."""


class CleanSummary(StageResult):
    rows_in: int = 0
    clean: int = 0
    quarantined: int = 0
    top_reasons: dict[str, int] = Field(default_factory=dict)


class DecisionRecord(BaseModel):
    """The decision's JSON in the store (table `decisions`, column `drift`), as the UI and the history read it."""

    model_config = ConfigDict(frozen=True)

    drift: dict[str, Any] | None = None
    """The drift report's figures (`DriftReport.to_dict()`); None without a production model or clean rows."""
    production_version: str | None = None
    decision: Decision


class RetrainDecision(StageResult):
    retrain: bool = False
    reason: str | None = None
    record: DecisionRecord | None = None


class ServedCheck(StageResult):
    """Served traffic since the last check against production's training data."""

    window: dict[str, Any] | None = None
    """The `ServedWindow` read back, as stored in `served_windows`."""
    drifted: int = 0


class TrainingRun(StageResult):
    run_id: str = ""
    model_uri: str = ""
    batches: list[int] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    baseline: dict[str, float] = Field(default_factory=dict)


class Promotion(StageResult):
    version: str | None = None
    outcome: Literal["promoted", "rejected"] | None = None
    reason: str | None = None
    run_id: str = ""
    challenger: dict[str, float] = Field(default_factory=dict)
    production: dict[str, float] | None = None
    """Production's metrics on the same holdout (None: there was no production model)."""
    recent: dict[str, Any] | None = None
    """Both models on the recent holdout (`RecentHoldout`), when it had enough rows."""
    batches: list[int] = Field(default_factory=list)
    shadow: ShadowReplay | None = None


class ShapSummary(StageResult):
    """The registered version's mean |SHAP| per feature, its largest first."""

    version: str | None = None
    top_features: dict[str, float] = Field(default_factory=dict)


class Turn(BaseModel):
    """One batch's stage outputs, by the names the training pipeline gives its artifacts."""

    batch_id: int | None
    data_report: DataReport
    clean_summary: CleanSummary
    decision: RetrainDecision
    served: ServedCheck
    training: TrainingRun
    promotion: Promotion
    explanation: ShapSummary


class BatchSummary(BaseModel):
    """The run's summary: what happened to the batch, from arrival to the production alias (the last artifact)."""

    model_config = ConfigDict(frozen=True)

    exhausted: str | None = None
    """Why there was no batch to process (None when there was one); every other field is then empty."""
    batch_id: int | None = None
    batch_number: int | None = None
    portion: int = 1
    group_number: int | None = None
    day: str | None = None
    source: str | None = None
    redelivered: bool = False
    rows_in: int = 0
    rejected: str | None = None
    clean: int = 0
    quarantined: int = 0
    top_reasons: dict[str, int] = Field(default_factory=dict)
    data_report: str | None = None
    retrain: bool = False
    decision_reason: str | None = None
    model_version: str | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    top_features: dict[str, float] = Field(default_factory=dict)
    drift_features_flagged: int | None = None
    production_metrics: dict[str, float] | None = None
    production_batch_mdape: float | None = None
    production_decay: int | None = None
    served_drift_features_flagged: int | None = None
