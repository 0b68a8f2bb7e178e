"""A failed training run: the batch it was processing (the one `next_batch` took) is recorded `failed`, with why."""

from __future__ import annotations

from tasador.ingest import make_source
from tasador.schema import BatchStatus
from tasador.settings import Settings
from tasador.store import BatchRecord, Store


def record_failed_run(
    store: Store, settings: Settings, group_number: int | None, error: str, unreachable: str | None = None
) -> BatchRecord | None:
    """Mark the batch the failed run was processing `failed` with the reason; None when it had none yet.

    A stage that raised has already recorded its reason (with the stage's name): it is kept, as ZenML
    raises only a generic "failure in step(s)" error for the run (a batch taken up again is no longer
    `failed`, see `next_batch`, so a `failed` status now is this run's). This covers the failures outside
    a stage too, e.g. ZenML unable to store a step's output while S3 is down. `unreachable` (the services
    the stack cannot reach now) is added, since an error deep in a client library does not always name
    the endpoint. The run was processing the oldest unfinished batch of its source and group, as
    `next_batch` takes that one first.
    """
    group = settings.group_number if group_number is None else group_number
    pending = store.pending_batch(make_source(settings, settings.configs.datasource).name, group)
    if pending is None:  # it failed before the batch reached RAW (e.g. the data API is down)
        return None
    failed = pending.status is BatchStatus.FAILED
    reason = (pending.error or error) if failed else error
    if unreachable and unreachable not in reason:
        reason = f"{reason} (unreachable now: {unreachable})"
    if reason != pending.error or not failed:
        store.mark_failed(pending.id, reason)
    return store.batch(pending.id)
