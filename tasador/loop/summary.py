"""Close a batch: mark it done, export its figures, and say in a few lines what happened."""

from __future__ import annotations

from typing import Any

from tasador.console import short_path
from tasador.monitoring.loop_metrics import push_batch_metrics
from tasador.monitoring.production_check import ProductionScore
from tasador.monitoring.stage import stored_decision
from tasador.store import Store


def finish_batch(
    store: Store,
    batch_id: int | None,
    report: dict[str, Any],
    cleaned: dict[str, Any],
    decision: dict[str, Any],
    promotion: dict[str, Any],
    explanation: dict[str, Any],
    served: dict[str, Any],
    pushgateway_url: str | None,
) -> dict[str, Any]:
    """The run's summary (also the pipeline's last artifact); the batch is `done` unless rejected."""
    if batch_id is None:
        return {"exhausted": True, "message": "the source has no batch left for this group"}
    store.finish(batch_id)
    record = store.batch(batch_id)
    score = _production_score(decision)
    summary = {
        "exhausted": False,
        "batch_id": batch_id,
        "batch_number": record.batch_number,
        "portion": record.portion,
        "group_number": record.group_number,
        "day": record.day,
        "source": record.source,
        "redelivered": bool(report.get("redelivered")),
        "rows_in": record.row_count,
        "rejected": report.get("reason") if report.get("rejected") else None,
        "clean": cleaned.get("clean", 0),
        "quarantined": cleaned.get("quarantined", 0),
        "top_reasons": cleaned.get("top_reasons", {}),
        "data_report": report.get("html_path"),
        "retrain": decision.get("retrain", False),
        "decision_reason": decision.get("reason"),
        "model_version": promotion.get("version"),
        "outcome": promotion.get("outcome"),
        "outcome_reason": promotion.get("reason"),
        "metrics": promotion.get("challenger"),
        "top_features": explanation.get("top_features"),
        "drift_features_flagged": _flagged_count(decision),
        "production_metrics": _serving_metrics(promotion) or _holdout_metrics(score),
        "production_batch_mdape": score.batch.mdape if score else None,
        "production_decay": None if score is None else int(score.decay.fired),
        "served_drift_features_flagged": None if served.get("skipped", True) else served["drifted"],
    }
    push_batch_metrics(summary, pushgateway_url)
    return summary


def _flagged_count(decision: dict[str, Any]) -> int | None:
    drift = (decision.get("figures") or {}).get("drift")
    return None if drift is None else len(drift["flagged"])


def _production_score(decision: dict[str, Any]) -> ProductionScore | None:
    """Production priced on this batch, as its decision recorded it (None: no model, or nothing to price)."""
    stored = stored_decision(decision.get("figures"))
    return None if stored is None else stored.production


def _holdout_metrics(score: ProductionScore | None) -> dict[str, float] | None:
    """Production's figures on its holdout, re-scored with this batch (when the batch trained nothing)."""
    return None if score is None else score.holdout.figures()


def _serving_metrics(promotion: dict[str, Any]) -> dict[str, float] | None:
    """Holdout metrics of the model serving after this batch, when this batch measured them."""
    if promotion.get("skipped", True):
        return None
    return promotion["challenger"] if promotion["outcome"] == "promoted" else promotion.get("production")


def render(summary: dict[str, Any]) -> list[str]:
    """A short, human summary of one batch's run, a line per fact."""
    if summary.get("exhausted"):
        return [f"No batch left: {summary.get('message')}"]
    portion = f", portion {summary['portion']}" if summary.get("portion", 1) > 1 else ""
    day = f", {summary['day']}" if summary.get("day") else ""
    lines = [
        f"Batch {summary['batch_number']}{portion} (group {summary['group_number']}{day}, id {summary['batch_id']}) "
        f"from {summary['source']}",
        f"  rows in      {summary['rows_in']:>8,}",
    ]
    if summary.get("redelivered"):
        lines.append("  again        the same rows as RAW already holds for this batch: nothing changed")
        return lines
    if summary["rejected"]:
        lines.append(f"  REJECTED     {summary['rejected']}")
    else:
        reasons = ", ".join(f"{reason} ({n:,})" for reason, n in list(summary["top_reasons"].items())[:3])
        lines.append(f"  quarantined  {summary['quarantined']:>8,}" + (f"   top: {reasons}" if reasons else ""))
        lines.append(f"  clean        {summary['clean']:>8,}")
    if summary["data_report"]:
        lines.append(f"  data report  {short_path(summary['data_report'])}")
    if summary.get("production_batch_mdape") is not None:
        decayed = " (decay)" if summary["production_decay"] else ""
        lines.append(f"  production   MdAPE {summary['production_batch_mdape']:.1f}% on this batch{decayed}")
    if summary.get("decision_reason"):
        verdict = "retrain" if summary["retrain"] else "no retraining"
        lines.append(f"  decision     {verdict}: {summary['decision_reason']}")
    if summary.get("model_version"):
        lines.append(
            f"  model        version {summary['model_version']} {summary['outcome']}: {summary['outcome_reason']}"
        )
    return lines
