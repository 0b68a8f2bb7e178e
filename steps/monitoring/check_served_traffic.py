from __future__ import annotations

from typing import Annotated

from zenml import step

from steps.context import run_stage
from tasador.monitoring.stage import served_stage
from tasador.results import RetrainDecision, ServedCheck


@step
def check_served_traffic(batch_id: int | None, decision: RetrainDecision) -> Annotated[ServedCheck, "served"]:
    """The requests served since the last batch against production's training data (drift, volume, predictions)."""
    return run_stage("served traffic", served_stage, batch_id, decision)
