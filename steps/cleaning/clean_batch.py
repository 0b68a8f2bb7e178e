from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps.context import run_stage
from tasador.cleaning.stage import clean


@step
def clean_batch(batch_id: int | None, data_report: dict[str, Any]) -> Annotated[dict[str, Any], "clean_summary"]:
    """Typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""
    return run_stage("clean", clean, batch_id, data_report)
