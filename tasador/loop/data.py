"""Validate a RAW batch (Great Expectations report) and clean it into CLEAN, quarantining what fails."""

from __future__ import annotations

from typing import Any

from tasador.cleaning import clean_batch
from tasador.settings import Settings, load_config
from tasador.store import Store
from tasador.validation import BatchRejected, validate_batch


def validate(store: Store, settings: Settings, batch_id: int | None) -> dict[str, Any]:
    """Run the data report for the batch; a whole-batch failure marks it rejected with the reason."""
    if batch_id is None:
        return {"skipped": True}
    if store.batch(batch_id).status.is_final:  # the same rows came again: judged the first time
        return {"skipped": True, "redelivered": True}
    try:
        outcome = validate_batch(store, batch_id, settings, load_config("validation"))
    except BatchRejected as exc:
        store.reject(batch_id, str(exc))
        report = store.report(batch_id) or {}
        return {"rejected": True, "reason": str(exc), "html_path": report.get("html_path")}
    store.mark_validated(batch_id)
    return {
        "rejected": False,
        "success": outcome.success,
        "html_path": str(outcome.html_path),
        "json_path": str(outcome.json_path),
        "hard_failures": {str(k): v for k, v in outcome.hard_failures.items()},
        "summary": outcome.summary,
    }


def clean(store: Store, settings: Settings, batch_id: int | None, report: dict[str, Any]) -> dict[str, Any]:
    """Typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""
    if batch_id is None or report.get("skipped") or report.get("rejected"):
        return {"skipped": True}
    hard_failures = {int(k): v for k, v in report.get("hard_failures", {}).items()}
    summary = clean_batch(store, batch_id, load_config("cleaning"), validation_failures=hard_failures)
    return {
        "skipped": False,
        "rows_in": summary.rows_in,
        "clean": summary.clean,
        "quarantined": summary.quarantined,
        "top_reasons": dict(summary.top_reasons),
    }
