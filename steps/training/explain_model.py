from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.loop.lifecycle import explain


@step
def explain_model(batch_id: int | None, promotion: dict[str, Any]) -> Annotated[dict[str, Any], "explanation"]:
    """SHAP summary plot and mean |SHAP| per feature, logged to the registered version's run."""
    settings = context.settings()
    db = context.store(settings)
    with context.batch_stage(db, batch_id, "explain"):
        return explain(db, settings, promotion)
