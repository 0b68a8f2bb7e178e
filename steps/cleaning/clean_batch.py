from __future__ import annotations

from typing import Annotated

from zenml import step

from steps.context import run_stage
from tasador.cleaning.stage import clean
from tasador.results import CleanSummary, DataReport


@step
def clean_batch(batch_id: int | None, data_report: DataReport) -> Annotated[CleanSummary, "clean_summary"]:
    """Typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""
    return run_stage("clean", clean, batch_id, data_report)
