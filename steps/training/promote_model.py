from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.loop.lifecycle import evaluate_and_promote


@step
def promote_model(batch_id: int | None, training: dict[str, Any]) -> Annotated[dict[str, Any], "promotion"]:
    """Challenger vs production on the same holdout; register, then promote or tag rejected with the reason."""
    settings = context.settings()
    db = context.store(settings)
    with context.batch_stage(db, batch_id, "promote"):
        return evaluate_and_promote(db, settings, batch_id, training)
