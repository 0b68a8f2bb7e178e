from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps.context import run_stage
from tasador.registry.stage import evaluate_and_promote


@step
def promote_model(batch_id: int | None, training: dict[str, Any]) -> Annotated[dict[str, Any], "promotion"]:
    """Challenger vs production on the same holdout; register, then promote or tag rejected with the reason."""
    return run_stage("promote", evaluate_and_promote, batch_id, training)
