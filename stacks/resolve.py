"""Settings that follow the active ZenML stack, resolved at run time (never at import time).

Environment variables still win (`TASADOR_DB_URL`, `MLFLOW_TRACKING_URI`), so a service or a test can point
anywhere explicitly; otherwise the active stack's MLflow tracker and its `tasador.db_url` label decide, and
without ZenML the embedded defaults apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from stacks.spec import DB_URL_LABEL, expand
from tasador.settings import Settings

log = logging.getLogger(__name__)


def active_settings(base: Settings | None = None) -> Settings:
    settings = base or Settings()
    overrides: dict[str, str] = {}
    try:
        stack = _active_stack()
    except Exception as exc:  # ZenML absent or not initialised: the embedded defaults are right
        log.debug("No active ZenML stack (%s); using settings from the environment.", exc)
        return settings
    label = stack.labels.get(DB_URL_LABEL)
    if label and settings.db_url is None:  # TASADOR_DB_URL (or an explicit value) wins over the stack
        overrides["db_url"] = expand(label, settings.home_dir)
    tracker = stack.experiment_tracker
    if tracker is not None and settings.mlflow_tracking_uri is None:
        overrides["mlflow_tracking_uri"] = tracker.get_tracking_uri()
    return settings.model_copy(update=overrides) if overrides else settings


@dataclass(frozen=True)
class _ActiveStack:
    name: str
    labels: dict[str, Any]
    experiment_tracker: Any  # zenml's MLFlowExperimentTracker, or None


def _active_stack() -> _ActiveStack:
    from zenml.client import Client

    client = Client()
    stack = client.active_stack
    # The runtime Stack object carries no labels; the stored model does.
    return _ActiveStack(stack.name, client.active_stack_model.labels or {}, stack.experiment_tracker)
