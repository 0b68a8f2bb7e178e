from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.ingest.stage import next_batch


@step
def fetch_batch(group_number: int | None = None) -> Annotated[dict[str, Any], "raw_batch"]:
    """The next batch of the group: an unfinished one from RAW first, else a new one from the source.

    Returns {"exhausted": True} when the source has nothing left, so the run ends cleanly.
    """
    context.announce("fetch")
    settings = context.settings()
    return context.decided("fetch", next_batch(context.store(settings), settings, group_number))
