"""What one service worker holds: the watched model, the inference log writer and the metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasador.configs import ServingConfig
from tasador.serving.inference_log import InferenceLog
from tasador.serving.metrics import ServiceMetrics
from tasador.serving.model_watcher import ModelWatcher, ServedModel
from tasador.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry


class ModelUnavailable(Exception):
    """No model is loaded yet: the service answers 503 with the watcher's explanation."""


class Runtime:
    def __init__(self, config: ServingConfig, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        self.settings = settings
        self.metrics = ServiceMetrics(config.metrics, registry)
        self.watcher = ModelWatcher(
            settings,
            config.model_watch,
            settings.model_dir,
            on_change=self.metrics.model_changed,
            events=config.registry_events,
        )
        self.log = InferenceLog(
            settings.database_url,
            settings.ensure_home() / "inference_log",
            config.inference_log,
            on_failure=self.metrics.log_failures.inc,
            on_backlog=self.metrics.log_backlog.set,
        )

    def start(self) -> Runtime:
        self.log.start()
        self.watcher.start()
        return self

    def stop(self) -> None:
        self.watcher.stop()
        self.log.stop()

    def model(self) -> ServedModel:
        """The model to answer with; read once per request so a swap never splits a request."""
        model = self.watcher.current
        if model is None:
            raise ModelUnavailable(self.watcher.detail)
        return model
