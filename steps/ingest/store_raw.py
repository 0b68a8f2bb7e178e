from __future__ import annotations

from typing import Annotated

from zenml import step

from steps import context
from tasador.ingest.stage import store_raw_batch
from tasador.results import FetchedBatch


@step
def store_raw(raw_batch: FetchedBatch) -> Annotated[int | None, "batch_id"]:
    """RAW keeps the batch exactly as received; the same batch again changes nothing."""
    context.announce("store")
    return context.decided("store_raw (batch id)", store_raw_batch(context.store(), raw_batch))
