"""Which model the service serves: `models:/<name>@production`, followed without a restart.

A background thread asks the registry every few seconds where the alias points, and at once when a
reload signal arrives (the registry's webhook or POST /admin/reload, tasador.serving.reload_signal).
A new version is loaded beside the old one and then swapped in by one reference assignment, so a
request in flight finishes on the model it started with. The model it replaced stays loaded: a
rollback to it is a swap, not a download. Registry down: the loaded model keeps serving ("degraded");
nothing loaded yet: the service is up but not ready, and predictions answer 503.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from tasador.configs import RegistryEventsConfig, WatchConfig
from tasador.model.predictor import Predictor
from tasador.model.pyfunc import load_predictor
from tasador.schema import METRICS
from tasador.serving.reload_signal import ReloadSignal
from tasador.serving.schemas import ModelInfo
from tasador.settings import Settings

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

logger = logging.getLogger(__name__)

#: Written next to a bundled model (tasador.serving.build) so the image can describe it without MLflow.
BUNDLE_INFO_FILE = "tasador-model-info.json"
# What the registry answers when the model or its alias does not exist yet (it is up, though).
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"})

Status = Literal["ready", "degraded", "no_model"]


@dataclass(frozen=True)
class ServedModel:
    predictor: Predictor
    info: ModelInfo

    @property
    def version(self) -> str:
        return self.info.version


class ModelWatcher:
    def __init__(
        self,
        settings: Settings,
        config: WatchConfig,
        bundle_dir: Path | None = None,
        on_change: Callable[[str | None, str | None], None] = lambda old, new: None,
        events: RegistryEventsConfig | None = None,
    ) -> None:
        self._settings = settings
        self._config = config
        self._events = events
        self.reload_signal = ReloadSignal(settings.home_dir / "serving")
        self._bundle_dir = bundle_dir
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self.current: ServedModel | None = None  # replaced whole, never mutated: readers need no lock
        self._previous: ServedModel | None = None  # what `current` replaced, kept for a rollback
        self.registry_reachable = False
        self.detail = "No model checked yet."

    @property
    def status(self) -> Status:
        if self.current is None:
            return "no_model"
        return "ready" if self.registry_reachable or self._bundle_dir else "degraded"

    def start(self) -> None:
        """Load what is there now (without waiting on a registry that is down), then keep watching."""
        if self._bundle_dir is not None:
            self._load_bundle(self._bundle_dir)
            return
        # MLflow retries an unreachable server for minutes by default; one check must stay short.
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(self._config.mlflow_timeout_s))
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(self._config.mlflow_max_retries)
        import mlflow

        mlflow.set_tracking_uri(self._settings.tracking_uri)
        mlflow.set_registry_uri(self._settings.tracking_uri)
        self.check()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._config.mlflow_timeout_s * 2)

    def _run(self) -> None:
        step = self._events.check_s if self._events else self._config.interval_s
        next_poll = time.monotonic() + self._config.interval_s
        while not self._stop.wait(step):
            if self.reload_signal.changed() or time.monotonic() >= next_poll:
                self.check()
                next_poll = time.monotonic() + self._config.interval_s

    def check(self) -> None:
        """Follow the alias once: load and swap in a new version; never raise."""
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        name, alias = self._settings.registered_model_name, self._settings.production_alias
        try:
            version = MlflowClient().get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in _NOT_FOUND_CODES:
                self.registry_reachable = True
                self.detail = (
                    f"No model has the alias '{alias}' in '{name}' yet; train one "
                    f"(python run.py --pipeline training) and the service picks it up within "
                    f"{self._config.interval_s:g} s."
                )
            else:
                self._registry_down(exc)
            return
        except Exception as exc:  # connection refused, timeouts, a broken store
            self._registry_down(exc)
            return
        self.registry_reachable = True
        # Stores differ in the version's type (text over REST, a number from a SQL store): compare text.
        if self.current is not None and self.current.version == str(version.version):
            self.detail = f"Serving version {version.version} of '{name}'."
            return
        if self._previous is not None and self._previous.version == str(version.version):
            # A rollback to the version served before: already in memory; its tags are read afresh.
            self._swap(ServedModel(self._previous.predictor, registry_info(name, version)))
            self.detail = f"Serving version {version.version} of '{name}' again."
            return
        try:
            predictor = _load(f"models:/{name}/{version.version}")
        except Exception as exc:
            logger.exception("Loading version %s of %s failed; keeping the current model.", version.version, name)
            self.detail = f"Version {version.version} could not be loaded ({exc}); still serving the previous one."
            return
        info = registry_info(name, version)
        self._swap(ServedModel(predictor, info))
        self.detail = f"Serving version {info.version} of '{name}'."

    def _registry_down(self, exc: Exception) -> None:
        self.registry_reachable = False
        served = f"still serving version {self.current.version}" if self.current else "no model loaded yet"
        detail = f"MLflow at {self._settings.tracking_uri} is unreachable ({type(exc).__name__}); {served}."
        if detail != self.detail:  # once per outage, not once per check
            logger.warning("%s (%s)", detail, exc)
        self.detail = detail

    def _load_bundle(self, directory: Path) -> None:
        info_file = directory / BUNDLE_INFO_FILE
        if not info_file.exists():
            raise FileNotFoundError(
                f"TASADOR_MODEL_DIR={directory} has no {BUNDLE_INFO_FILE}; "
                "point it at a model bundled by tasador.serving.build.build_bento, or unset it to use MLflow."
            )
        info = ModelInfo.model_validate(json.loads(info_file.read_text()))
        info = info.model_copy(update={"source": "bundle", "loaded_at": dt.datetime.now(dt.UTC)})
        self._swap(ServedModel(_load(str(directory)), info))
        self.detail = f"Serving bundled version {info.version} from {directory}."

    def _swap(self, model: ServedModel) -> None:
        old = self.current
        self.current = model  # the one assignment requests observe
        self._previous = old
        self._on_change(old.version if old else None, model.version)
        logger.info("Now serving version %s (was %s).", model.version, old.version if old else "none")


def registry_info(name: str, version: ModelVersion) -> ModelInfo:
    """What /model shows about a registered version: its tags, holdout metrics and decision."""
    return ModelInfo(
        name=name,
        version=str(version.version),
        source="registry",
        status="ready",
        loaded_at=dt.datetime.now(dt.UTC),
        run_id=version.run_id,
        decision=version.tags.get("decision"),
        reason=version.tags.get("reason"),
        batches=version.tags.get("batches"),
        promoted_at=version.tags.get("promoted_at") or _millis_to_iso(version.last_updated_timestamp),
        metrics=_metric_tags(version.tags),
        tags=dict(version.tags),
    )


def _load(model_uri: str) -> Predictor:
    # The predictor holds everything in memory once loaded: the downloaded files can go.
    with tempfile.TemporaryDirectory(prefix="tasador-serving-") as tmp:
        predictor = load_predictor(model_uri, dst_path=tmp)
    # Requests are a few rows each and workers already use every core: threads inside one prediction only
    # contend (XGBoost was many times slower with 2 threads than with 1 on a busy 2-core machine).
    predictor.booster.set_param({"nthread": 1})
    # Build the encoder's look-up structures (pandas' hash tables of the categories) now, not in the first request.
    predictor.predict(pd.DataFrame(index=range(1)))
    return predictor


def _metric_tags(tags: dict[str, str]) -> dict[str, float]:
    metrics = {}
    for key in METRICS:
        try:
            metrics[key] = float(tags[key])
        except (KeyError, ValueError):
            continue
    return metrics


def _millis_to_iso(millis: int | None) -> str | None:
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat() if millis else None
