from __future__ import annotations

from typing import Annotated

from zenml import step

from steps import context
from tasador.ingest.stage import next_batch
from tasador.results import FetchedBatch


@step
def fetch_batch(group_number: int | None = None) -> Annotated[FetchedBatch, "raw_batch"]:
    """The next batch of the group: an unfinished one from RAW first, else a new one from the source.

    `exhausted` says why when the source has nothing left, so the run ends cleanly.
    """
    context.announce("fetch")
    settings = context.settings()
    return context.decided("fetch", next_batch(context.store(settings), settings, group_number))
