"""The cleaning stage: typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""

from __future__ import annotations

from tasador.cleaning.clean import clean_batch
from tasador.results import CleanSummary, DataReport
from tasador.settings import Settings
from tasador.store import Store


def clean(store: Store, settings: Settings, batch_id: int | None, report: DataReport) -> CleanSummary:
    """Typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""
    if batch_id is None or not report.ran or report.rejected:
        return CleanSummary(skipped=report.skipped or f"the batch was rejected: {report.rejected}")
    summary = clean_batch(store, batch_id, settings.configs.cleaning, validation_failures=report.hard_failures)
    return CleanSummary(
        rows_in=summary.rows_in,
        clean=summary.clean,
        quarantined=summary.quarantined,
        top_reasons=dict(summary.top_reasons),
    )
