"""The service's numbers (configs/serving.yaml) and where it finds MLflow and RAW (tasador.settings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveFloat, PositiveInt

from tasador.settings import Settings, load_config

#: Point at another serving YAML (tests, deployments) instead of configs/serving.yaml.
CONFIG_ENV = "TASADOR_SERVING_CONFIG"
#: A model folder bundled in the image: served as is, without MLflow.
MODEL_DIR_ENV = "TASADOR_MODEL_DIR"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiLimits(_Section):
    max_batch_rows: PositiveInt
    max_explain_rows: PositiveInt
    max_body_bytes: PositiveInt


class WatchConfig(_Section):
    interval_s: PositiveFloat
    mlflow_timeout_s: PositiveFloat
    mlflow_max_retries: NonNegativeInt


class RegistryEventsConfig(_Section):
    check_s: PositiveFloat  # how often a worker looks for a reload signal (a file's stat, no registry call)
    max_age_s: PositiveFloat  # a webhook delivery older than this is refused (a replayed request)


class InferenceLogConfig(_Section):
    flush_interval_s: PositiveFloat
    flush_rows: PositiveInt
    max_buffer_rows: PositiveInt
    retry_initial_s: PositiveFloat
    retry_max_s: PositiveFloat
    shutdown_timeout_s: PositiveFloat


class MetricsConfig(_Section):
    request_duration_buckets: list[PositiveFloat]
    price_buckets: list[PositiveFloat]


class BenchmarkConfig(_Section):
    train_rows: PositiveInt
    search_trials: PositiveInt | None = None  # None: configs/model.yaml's own
    rates_rps: list[PositiveInt]
    rate_connections: PositiveInt
    rate_spacing: Literal["even", "burst"] = "even"
    rate_duration_s: PositiveFloat
    throughput_duration_s: PositiveInt
    throughput_connections: PositiveInt
    batch_rows: PositiveInt
    batch_requests: PositiveInt
    in_process_repeats: PositiveInt


class ServingConfig(_Section):
    service: dict[str, Any]  # passed as is to @bentoml.service (workers, traffic, resources)
    api: ApiLimits
    model_watch: WatchConfig
    registry_events: RegistryEventsConfig
    inference_log: InferenceLogConfig
    metrics: MetricsConfig
    benchmark: BenchmarkConfig | None = None  # only benchmarks/serving.py reads it

    @property
    def access_log_enabled(self) -> bool:
        """`service.logging.access.enabled` (BentoML's default: on)."""
        return bool(self.service.get("logging", {}).get("access", {}).get("enabled", True))


def load_serving_config() -> ServingConfig:
    """configs/serving.yaml, or the file named by TASADOR_SERVING_CONFIG."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        path = Path(override)
        return ServingConfig.model_validate(load_config(path.stem, path.parent))
    return ServingConfig.model_validate(load_config("serving"))


def resolve_settings() -> Settings:
    """The settings the service runs with: those of the active ZenML stack, so `zenml stack set` is enough.

    Environment variables still win; without ZenML (the image) the environment and defaults apply.
    """
    from stacks.resolve import active_settings

    return active_settings(Settings())


def bundled_model_dir() -> Path | None:
    value = os.environ.get(MODEL_DIR_ENV)
    return Path(value) if value else None
