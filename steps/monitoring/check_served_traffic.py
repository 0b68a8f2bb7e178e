from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps.context import run_stage
from tasador.monitoring.served import served_stage


@step
def check_served_traffic(batch_id: int | None, decision: dict[str, Any]) -> Annotated[dict[str, Any], "served"]:
    """The requests served since the last batch against production's training data (drift, volume, predictions)."""
    return run_stage("served traffic", served_stage, batch_id, decision)
