"""The benchmarks' own numbers (configs/benchmarks/*.yaml), kept out of the configs the loop and the service read.

A benchmark measures a production config (configs/serving.yaml, configs/drift.yaml) as it is; how long it runs,
at which rates and on how many groups is the benchmark's business, so it lives beside, not inside, that file.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from tasador.configs import read_config
from tasador.settings import Settings

Model = TypeVar("Model", bound=BaseModel)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def benchmark_config(name: str, model: type[Model], settings: Settings | None = None) -> Model:
    """configs/benchmarks/<name>.yaml (under TASADOR_CONFIG_DIR when set) as `model`."""
    folder = (settings or Settings()).config_dir / "benchmarks"
    return read_config(folder / f"{name}.yaml", model)


class ServingBenchmark(_Section):
    """configs/benchmarks/serving.yaml: benchmarks/serving.py (and the model batch_scoring and rollback train)."""

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


class DetectionGoals(_Section):
    drifted_flagged_min: float = Field(ge=0, le=1)
    stationary_flagged_max: float = Field(ge=0, le=1)


class DriftBenchmark(_Section):
    """configs/benchmarks/drift.yaml: benchmarks/drift_detection.py and its small run in tests/unit/test_drift.py."""

    groups: PositiveInt
    test_groups: PositiveInt
    reference_batches: PositiveInt
    judged_batch: PositiveInt
    delay_batches: list[PositiveInt]
    goals: DetectionGoals
    decay_groups: PositiveInt
    decay_training_group: PositiveInt


class ProbeConfig(_Section):
    duration_s: PositiveInt
    connections: PositiveInt


class RunConfig(_Section):
    duration_s: PositiveInt
    rate_fraction: PositiveFloat
    connections: PositiveInt
    request_timeout_s: PositiveInt


class LoadConfig(_Section):
    """configs/benchmarks/load.yaml: benchmarks/load.py and tests/integration/test_load.py."""

    probe: ProbeConfig
    run: RunConfig
    listings_per_request: PositiveInt
    flush_timeout_s: PositiveFloat
