from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from zenml import step

from steps import context
from tasador.serving.batch_scoring import BatchScoring, score_with_production


@step
def score_listings(
    input_path: str | None = None, clean_where: str | None = None
) -> tuple[Annotated[pd.DataFrame, "batch_predictions"], Annotated[BatchScoring, "batch_scoring"]]:
    """Price every row with the production model: predictions (source row, price, reason) and the run's record.

    Args:
        input_path: a CSV file of listings (header: the schema's field names).
        clean_where: or a SQL condition over CLEAN's `clean_rows` (e.g. "state = 'Texas'").
    """
    settings = context.settings()
    columns = [TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns) as progress:
        task = progress.add_task("rows", total=None)
        scored, scoring = score_with_production(
            context.store(settings),
            settings,
            lambda done, total: progress.update(task, completed=done, total=total),
            Path(input_path) if input_path else None,
            clean_where,
        )
    return scored, scoring
