from __future__ import annotations

from typing import Annotated

from zenml import step

from steps.context import run_stage
from tasador.monitoring.stage import check_and_decide
from tasador.results import CleanSummary, RetrainDecision


@step
def decide_retrain(batch_id: int | None, clean_summary: CleanSummary) -> Annotated[RetrainDecision, "decision"]:
    """Drift against the production model's training data, new volume, and the recorded retrain decision."""
    return run_stage("decide retrain", check_and_decide, batch_id, clean_summary)
