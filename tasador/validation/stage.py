"""The validation stage: the Great Expectations report of a RAW batch; a whole-batch failure rejects it."""

from __future__ import annotations

from tasador.results import NO_BATCH, DataReport
from tasador.settings import Settings
from tasador.store import Store
from tasador.validation import BatchRejected, validate_batch


def validate(store: Store, settings: Settings, batch_id: int | None) -> DataReport:
    """Run the data report for the batch; a whole-batch failure marks it rejected with the reason."""
    if batch_id is None:
        return DataReport(skipped=NO_BATCH)
    if store.batch(batch_id).status.is_final:
        return DataReport(skipped="the same rows came again: judged the first time", redelivered=True)
    try:
        outcome = validate_batch(store, batch_id, settings, settings.configs.validation)
    except BatchRejected as exc:
        store.reject(batch_id, str(exc))
        report = store.report(batch_id) or {}
        return DataReport(rejected=str(exc), html_path=report.get("html_path"))
    store.mark_validated(batch_id)
    return DataReport(
        success=outcome.success,
        html_path=str(outcome.html_path),
        json_path=str(outcome.json_path),
        hard_failures=outcome.hard_failures,
    )
