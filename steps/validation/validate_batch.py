from __future__ import annotations

from typing import Annotated

from zenml import step

from steps import context
from tasador.results import DataReport
from tasador.validation.stage import validate


@step
def validate_batch(batch_id: int | None) -> Annotated[DataReport, "data_report"]:
    """Great Expectations report of the raw batch (HTML + JSON); rows failing hard checks marked for quarantine."""
    settings = context.settings()
    db = context.store(settings)
    with context.batch_stage(db, batch_id, "validate"):
        return context.decided("validate", validate(db, settings, batch_id))
