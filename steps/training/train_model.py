from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.loop.lifecycle import train


@step
def train_model(batch_id: int | None, decision: dict[str, Any]) -> Annotated[dict[str, Any], "training"]:
    """XGBoost challenger (with its search) and the baseline in MLflow; skipped when no retraining is due."""
    settings = context.settings()
    db = context.store(settings)
    with context.batch_stage(db, batch_id, "train"):
        return train(db, settings, batch_id, decision)
