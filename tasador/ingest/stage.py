"""Fetch the next batch (or the unfinished one) and keep it in RAW as received."""

from __future__ import annotations

import logging

from tasador.ingest import make_source
from tasador.ingest.batch import SourceExhausted
from tasador.results import FetchedBatch
from tasador.settings import Settings
from tasador.store import Store

log = logging.getLogger(__name__)


def next_batch(store: Store, settings: Settings, group_number: int | None = None) -> FetchedBatch:
    """The batch this run processes.

    An unfinished batch (a run that failed or was killed after RAW) comes first, by its id in RAW, so a
    failed run is completed by the next one; otherwise the source's next batch, rows as received.
    `exhausted` says so, in the source's words, when the source has no batch left.
    """
    group = settings.group_number if group_number is None else group_number
    source = make_source(settings, settings.configs.datasource)
    pending = store.pending_batch(source.name, group)
    if pending is not None:
        log.info("Batch %s of group %s was not finished: processing it again.", pending.batch_number, group)
        # The old reason goes: a `failed` status after this run is this run's, with this run's reason.
        store.take_up_again(pending.id)
        return FetchedBatch(pending_batch_id=pending.id)
    try:
        batch = source.next_batch(group, store.last_batch_number(source.name, group))
    except SourceExhausted as exc:
        return FetchedBatch(exhausted=str(exc))
    return FetchedBatch(batch=batch)


def store_raw_batch(store: Store, fetched: FetchedBatch) -> int | None:
    """Keep the fetched batch in RAW as received and return its id; None when the source was exhausted.

    Rows already in RAW under the same key (a re-delivery) change nothing: their batch's id comes back, and
    the stages after this one see that the batch was finished before (`Store.batch(...).status`).
    """
    if fetched.pending_batch_id is not None:
        return fetched.pending_batch_id
    batch = fetched.batch
    if batch is None:  # the source was exhausted
        return None
    result = store.ingest_raw(batch)
    if not result.created:
        log.info(
            "Batch %s came again with the rows RAW holds as id %s: nothing changes.",
            batch.batch_number,
            result.batch_id,
        )
    elif result.portion > 1:
        log.info("Batch %s came again with other rows: kept as its portion %s.", batch.batch_number, result.portion)
    return result.batch_id
