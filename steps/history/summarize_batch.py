from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.loop.summary import finish_batch


@step
def summarize_batch(
    batch_id: int | None,
    data_report: dict[str, Any],
    clean_summary: dict[str, Any],
    decision: dict[str, Any],
    promotion: dict[str, Any],
    explanation: dict[str, Any],
    served: dict[str, Any],
) -> Annotated[dict[str, Any], "batch_summary"]:
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
