"""The cleaning stage: typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""

from __future__ import annotations

from typing import Any

from tasador.cleaning.clean import clean_batch
from tasador.settings import Settings
from tasador.store import Store


def clean(store: Store, settings: Settings, batch_id: int | None, report: dict[str, Any]) -> dict[str, Any]:
    """Typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""
    if batch_id is None or report.get("skipped") or report.get("rejected"):
        return {"skipped": True}
    hard_failures = {int(k): v for k, v in report.get("hard_failures", {}).items()}
    summary = clean_batch(store, batch_id, settings.configs.cleaning, validation_failures=hard_failures)
    return {
        "skipped": False,
        "rows_in": summary.rows_in,
        "clean": summary.clean,
        "quarantined": summary.quarantined,
        "top_reasons": dict(summary.top_reasons),
    }
