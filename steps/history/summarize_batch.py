from __future__ import annotations

from typing import Annotated

from zenml import step

from steps import context
from tasador.loop.summary import finish_batch
from tasador.results import (
    BatchSummary,
    CleanSummary,
    DataReport,
    Promotion,
    RetrainDecision,
    ServedCheck,
    ShapSummary,
)


@step
def summarize_batch(
    batch_id: int | None,
    data_report: DataReport,
    clean_summary: CleanSummary,
    decision: RetrainDecision,
    promotion: Promotion,
    explanation: ShapSummary,
    served: ServedCheck,
) -> Annotated[BatchSummary, "batch_summary"]:
    """Mark the batch done, push its figures to Prometheus (when configured) and summarise the run."""
    context.announce("summarise")
    summary = finish_batch(
        context.store(),
        batch_id,
        data_report,
        clean_summary,
        decision,
        promotion,
        explanation,
        served,
        context.settings().pushgateway_url,
    )
    return context.decided("summarize", summary)
