from __future__ import annotations

from typing import Annotated

from zenml import step

from steps.context import run_stage
from tasador.model.stage import train
from tasador.results import RetrainDecision, TrainingRun


@step
def train_model(batch_id: int | None, decision: RetrainDecision) -> Annotated[TrainingRun, "training"]:
    """XGBoost challenger (with its search) and the baseline in MLflow; skipped when no retraining is due."""
    return run_stage("train", train, batch_id, decision)
