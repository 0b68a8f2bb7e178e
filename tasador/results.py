"""What each stage of the loop hands the next: one pydantic model per stage output, in the loop's order.

The stages import their results from here and this module imports no stage, so the loop's packages depend on
each other one way only (tests/unit/test_package_shape.py).

A step returns its stage's model as a named ZenML artifact (ZenML's pydantic materializer), so the dashboard
shows what each stage decided. A stage that did nothing says why in `skipped`: the stages after it read that
instead of looking for missing keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


# Monitoring: production priced on the batch's clean rows (tasador/monitoring/production_check.py)

Segmenting = Literal["state", "price band", "status"]


class PriceMetrics(BaseModel):
    """tasador.model.evaluate's figures: rmse and mae in dollars, mdape in percent, R² on log price."""

    rows: int
    rmse: float
    mae: float
    mdape: float
    r2_log: float | None  # None when every price is the same (no spread to explain)

    def figures(self) -> dict[str, float]:
        """The metrics by name, as tasador.model.evaluate names them (R² left out when undefined)."""
        return self.model_dump(include={"rmse", "mae", "mdape", "r2_log"}, exclude_none=True)


class DecayCheck(BaseModel):
    """Production's error on the batch, with bootstrap intervals, against the lines its holdout sets.

    Two figures: the MdAPE (how far off, either way) and the median signed error (how far off on the
    whole, e.g. prices up 15 % with the inputs unchanged: a bias the MdAPE barely shows under 35 % of noise
    per listing). Either beyond its line fires the trigger, judged on the near end of a bootstrap interval
    of the difference (batch and holdout both resampled). The intervals kept are the batch's own.
    """

    fired: bool
    confidence: float
    batch_mdape: float
    mdape_low: float
    mdape_high: float
    holdout_mdape: float
    max_rise: float  # relative: the MdAPE line is holdout_mdape * (1 + max_rise)
    batch_bias: float  # median of (predicted - actual) / actual, in percent
    bias_low: float
    bias_high: float
    holdout_bias: float
    max_bias: float  # in percentage points away from the holdout's median error

    @property
    def rise(self) -> float:
        """Relative rise of the batch's MdAPE over the holdout's (0.2 = 20 % worse)."""
        return self.batch_mdape / self.holdout_mdape - 1 if self.holdout_mdape else 0.0

    @property
    def severity(self) -> float:
        """The larger of the two changes over its line (1 = at the line), one number to compare batches by."""
        return max(self.rise / self.max_rise, abs(self.batch_bias - self.holdout_bias) / self.max_bias)

    def describe(self) -> str:
        """`MdAPE 31.2% on this batch (95% interval 29.8-32.9%) vs 24.1% on its holdout (...); median error ...`."""
        return (
            f"MdAPE {self.batch_mdape:.1f}% on this batch ({self.confidence:.0%} interval {self.mdape_low:.1f}-"
            f"{self.mdape_high:.1f}%) vs {self.holdout_mdape:.1f}% on its holdout ({self.rise:+.0%}, line "
            f"+{self.max_rise:.0%}); median error {self.batch_bias:+.1f}% ({self.bias_low:+.1f} to "
            f"{self.bias_high:+.1f}%) vs {self.holdout_bias:+.1f}% (line ±{self.max_bias:g} pts)"
        )


class SegmentChange(BaseModel):
    """Production's MdAPE in one segment: on its holdout (before) and on the batch (after)."""

    by: Segmenting
    segment: str
    rows_before: int
    rows_after: int
    mdape_before: float
    mdape_after: float

    @property
    def rise(self) -> float:
        return self.mdape_after - self.mdape_before

    def describe(self) -> str:
        return f"{self.by} {self.segment} {self.mdape_before:.1f} → {self.mdape_after:.1f}%"


class UnseenCategories(BaseModel):
    """Values of a column that production's training data never had, and their share of the batch."""

    column: str
    count: int
    share: float
    expected_share: float  # Good-Turing: the reference's singletons' share, what a fresh sample brings anyway
    examples: list[str] = Field(default_factory=list)  # the most frequent ones

    def describe(self) -> str:
        if self.count == 1 and self.examples:
            return f"{self.column} {self.examples[0]} ({self.share:.1%} of the batch)"
        shown = f": {', '.join(self.examples)}" if self.examples else ""
        return f"{self.count} new {self.column} values ({self.share:.1%} of the batch){shown}"


class ProductionScore(BaseModel):
    """Production priced on one batch's clean rows, beside its figures on its holdout."""

    version: str
    batch: PriceMetrics
    holdout: PriceMetrics
    decay: DecayCheck
    segments: list[SegmentChange] = Field(default_factory=list)  # where the error rose most, largest first
    unseen: list[UnseenCategories] = Field(default_factory=list)

    def where(self) -> str:
        """`state Texas 22.0 → 35.1%, price band $500k-$1M 20.3 → 30.2%`, or "" when no segment rose."""
        return ", ".join(s.describe() for s in self.segments)

    def never_seen(self, min_excess: float = 0.0) -> str:
        """The new categories beyond what chance brings (zip codes of a small reference are mostly new)."""
        return "; ".join(u.describe() for u in self.unseen if u.share - u.expected_share > min_excess)


# Monitoring: the retrain decision (tasador/monitoring/decision.py)

Trigger = Literal["first_model", "drift", "decay", "persisted", "scheduled", "waiting", "none", "nothing_new"]


Outcome = Literal["promoted", "rejected"]


class DriftedFeature(BaseModel):
    """A feature flagged as drifted: its largest effect over its threshold and the breaches in words."""

    name: str
    severity: float  # 1 = at its threshold (tasador.monitoring.drift's `severity`)
    breaches: list[str]

    def describe(self) -> str:
        return f"{self.name} ({', '.join(self.breaches)})"


class LastTraining(BaseModel):
    """The latest training before this batch, promoted or rejected, and what its decision saw."""

    batch_id: int
    batch_number: int
    source: str
    outcome: Outcome
    drifted: list[DriftedFeature] = Field(default_factory=list)
    decay_severity: float | None = None  # production's decay then over its line (DecayCheck.severity), if it fired
    unseen_states: list[str] = Field(default_factory=list)
    batches_waited: int = 0  # batches since it that waited on the same change

    def label(self) -> str:
        return f"batch {self.batch_number} of {self.source}, {self.outcome}"


class Decision(BaseModel):
    """Whether to retrain, the reason in words, and the typed figures behind it."""

    retrain: bool
    trigger: Trigger
    reason: str
    has_production: bool
    rows_since_training: int
    min_new_rows: int
    drifted: list[DriftedFeature] = Field(default_factory=list)
    production: ProductionScore | None = None  # production priced on this batch
    last_training: LastTraining | None = None
    changes_beyond_last: list[str] = Field(default_factory=list)  # what is new since the last training

    @property
    def drifted_features(self) -> list[str]:
        return [f.name for f in self.drifted]


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
    outcome: Outcome | None = None
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
