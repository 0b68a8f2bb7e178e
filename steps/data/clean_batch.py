from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.loop import clean


@step
def clean_batch(batch_id: int | None, data_report: dict[str, Any]) -> Annotated[dict[str, Any], "clean_summary"]:
    """Typed, deduplicated rows to CLEAN; every other row quarantined with its reason."""
    db = context.store()
    with context.batch_stage(db, batch_id, "clean"):
        return clean(db, batch_id, data_report)
