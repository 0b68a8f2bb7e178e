from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.loop.monitor import check_and_decide


@step
def decide_retrain(batch_id: int | None, clean_summary: dict[str, Any]) -> Annotated[dict[str, Any], "decision"]:
    """Drift against the production model's training data, new volume, and the recorded retrain decision."""
    settings = context.settings()
    db = context.store(settings)
    with context.batch_stage(db, batch_id, "drift"):
        return check_and_decide(db, settings, batch_id, clean_summary)
