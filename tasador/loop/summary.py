"""Close a batch: mark it done, export its figures, and say in a few lines what happened."""

from __future__ import annotations

from tasador.console import short_path
from tasador.monitoring.loop_metrics import push_batch_metrics
from tasador.results import (
    NO_BATCH,
    BatchSummary,
    CleanSummary,
    DataReport,
    ProductionScore,
    Promotion,
    RetrainDecision,
    ServedCheck,
    ShapSummary,
)
from tasador.store import Store


def finish_batch(
    store: Store,
    batch_id: int | None,
    report: DataReport,
    cleaned: CleanSummary,
    decision: RetrainDecision,
    promotion: Promotion,
    explanation: ShapSummary,
    served: ServedCheck,
    pushgateway_url: str | None,
) -> BatchSummary:
    """The run's summary (also the pipeline's last artifact); the batch is `done` unless rejected."""
    if batch_id is None:
        return BatchSummary(exhausted=NO_BATCH)
    store.finish(batch_id)
    record = store.batch(batch_id)
    score = decision.record.decision.production if decision.record else None
    summary = BatchSummary(
        batch_id=batch_id,
        batch_number=record.batch_number,
        portion=record.portion,
        group_number=record.group_number,
        day=record.day,
        source=record.source,
        redelivered=report.redelivered,
        rows_in=record.row_count,
        rejected=report.rejected,
        clean=cleaned.clean,
        quarantined=cleaned.quarantined,
        top_reasons=cleaned.top_reasons,
        data_report=report.html_path,
        retrain=decision.retrain,
        decision_reason=decision.reason,
        model_version=promotion.version,
        outcome=promotion.outcome,
        outcome_reason=promotion.reason,
        metrics=promotion.challenger,
        top_features=explanation.top_features,
        drift_features_flagged=_flagged_count(decision),
        production_metrics=_serving_metrics(promotion) or _holdout_metrics(score),
        production_batch_mdape=score.batch.mdape if score else None,
        production_decay=None if score is None else int(score.decay.fired),
        served_drift_features_flagged=served.drifted if served.ran else None,
    )
    push_batch_metrics(summary.model_dump(), pushgateway_url)
    return summary


def _flagged_count(decision: RetrainDecision) -> int | None:
    drift = decision.record.drift if decision.record else None
    return None if drift is None else len(drift["flagged"])


def _holdout_metrics(score: ProductionScore | None) -> dict[str, float] | None:
    """Production's figures on its holdout, re-scored with this batch (when the batch trained nothing)."""
    return None if score is None else score.holdout.figures()


def _serving_metrics(promotion: Promotion) -> dict[str, float] | None:
    """Holdout metrics of the model serving after this batch, when this batch measured them."""
    if not promotion.ran:
        return None
    return promotion.challenger if promotion.outcome == "promoted" else promotion.production


def render(summary: BatchSummary) -> list[str]:
    """A short, human summary of one batch's run, a line per fact."""
    if summary.exhausted:
        return [f"No batch left: {summary.exhausted} for this group"]
    portion = f", portion {summary.portion}" if summary.portion > 1 else ""
    day = f", {summary.day}" if summary.day else ""
    lines = [
        f"Batch {summary.batch_number}{portion} (group {summary.group_number}{day}, id {summary.batch_id}) "
        f"from {summary.source}",
        f"  rows in      {summary.rows_in:>8,}",
    ]
    if summary.redelivered:
        lines.append("  again        the same rows as RAW already holds for this batch: nothing changed")
        return lines
    if summary.rejected:
        lines.append(f"  REJECTED     {summary.rejected}")
    else:
        reasons = ", ".join(f"{reason} ({n:,})" for reason, n in list(summary.top_reasons.items())[:3])
        lines.append(f"  quarantined  {summary.quarantined:>8,}" + (f"   top: {reasons}" if reasons else ""))
        lines.append(f"  clean        {summary.clean:>8,}")
    if summary.data_report:
        lines.append(f"  data report  {short_path(summary.data_report)}")
    if summary.production_batch_mdape is not None:
        decayed = " (decay)" if summary.production_decay else ""
        lines.append(f"  production   MdAPE {summary.production_batch_mdape:.1f}% on this batch{decayed}")
    if summary.decision_reason:
        verdict = "retrain" if summary.retrain else "no retraining"
        lines.append(f"  decision     {verdict}: {summary.decision_reason}")
    if summary.model_version:
        lines.append(f"  model        version {summary.model_version} {summary.outcome}: {summary.outcome_reason}")
    return lines
