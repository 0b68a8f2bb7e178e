from __future__ import annotations

from typing import Annotated

from zenml import step

from steps.context import run_stage
from tasador.model.stage import explain
from tasador.results import Promotion, ShapSummary


@step
def explain_model(batch_id: int | None, promotion: Promotion) -> Annotated[ShapSummary, "explanation"]:
    """SHAP summary plot and mean |SHAP| per feature, logged to the registered version's run."""
    return run_stage("explain", explain, batch_id, promotion)
