"""What every step needs at run time: settings that follow the active stack, the store, failure marking."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel

from stacks.resolve import active_settings
from steps import stop_signal
from tasador.settings import Settings
from tasador.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
_SAID_MAX = 400  # characters of a step's outcome line: the figures, not the frames

#: A stage (a `stage.py` function): (store, settings, batch id or None, the upstream stage's result) -> its result.
Stage = Callable[[Store, Settings, "int | None", In], Out]

#: One record per stage as it starts: the CLI's progress line shows it, ZenML's step logs keep it.
STAGE_LOG = logging.getLogger("tasador.stage")


def settings() -> Settings:
    return active_settings()


@lru_cache(maxsize=4)
def _store(url: str) -> Store:
    return Store(url)


def store(current: Settings | None = None) -> Store:
    return _store((current or settings()).database_url)


@contextmanager
def batch_stage(db: Store, batch_id: int | None, stage: str) -> Iterator[None]:
    """Mark the batch failed with the stage and reason when the body raises; the next run retries it."""
    announce(stage)
    if batch_id is None:  # the source was exhausted: nothing to mark
        yield
        return
    try:
        yield
    except Exception as exc:
        db.mark_failed(batch_id, f"{stage}: {type(exc).__name__}: {exc}")
        raise


def run_stage(name: str, stage: Stage[In, Out], batch_id: int | None, upstream: In) -> Out:
    """Run one loop stage on the active stack's settings and store, marking the batch failed if it raises."""
    current = settings()
    db = store(current)
    with batch_stage(db, batch_id, name):
        stop_signal.raise_if_requested()  # a signal stopped an earlier attempt: no retry
        return decided(name, stage(db, current, batch_id, upstream))


def decided(step: str, outcome: T) -> T:
    """Log what a step decided, in one line (its output's plain fields), and return the output unchanged.

    At INFO: quiet under `run.py`, which prints the batch summary instead; an Airflow task's log shows it
    (tasador/services/step_server.py), so a DAG run reads step by step in Airflow's UI.
    """
    if isinstance(outcome, BaseModel):
        fields = _plain_fields(outcome.model_dump(exclude_defaults=True))
        line = ", ".join(fields) or "(no plain fields)"
    else:
        line = repr(outcome)
    log.info("%s decided: %s", step, line[:_SAID_MAX])
    return outcome


def _plain_fields(values: dict[str, object], prefix: str = "") -> list[str]:
    """`key=value` for the text and number fields, one level into nested models (`batch.batch_number=3`)."""
    fields = []
    for key, value in values.items():
        if isinstance(value, str | int | float):
            fields.append(f"{prefix}{key}={value}")
        elif isinstance(value, dict) and not prefix:
            fields += _plain_fields(value, f"{key}.")
    return fields


def announce(stage: str) -> None:
    """Say which stage of the batch starts (a log record of `STAGE_LOG`)."""
    STAGE_LOG.info(stage)
