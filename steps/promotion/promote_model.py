from __future__ import annotations

from typing import Annotated

from zenml import step

from steps.context import run_stage
from tasador.promotion.stage import evaluate_and_promote
from tasador.results import Promotion, TrainingRun


@step
def promote_model(batch_id: int | None, training: TrainingRun) -> Annotated[Promotion, "promotion"]:
    """Challenger vs production on the same holdout; register, then promote or tag rejected with the reason."""
    return run_stage("promote", evaluate_and_promote, batch_id, training)
