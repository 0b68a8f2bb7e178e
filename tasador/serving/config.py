"""Where the service finds MLflow and RAW (tasador.settings); its numbers are `Settings.configs.serving`."""

from __future__ import annotations

import os
from pathlib import Path

from tasador.settings import Settings


def resolve_settings() -> Settings:
    """The settings the service runs with: those of the active ZenML stack, so `zenml stack set` is enough.

    Environment variables still win; without ZenML (the image) the environment and defaults apply.
    """
    from stacks.resolve import active_settings

    return active_settings(Settings())


def isolated_environment(folder: Path, tracking_uri: str, database_url: str) -> dict[str, str]:
    """This process's environment for a service kept under `folder`: its own HOME, BentoML and tasador homes,
    MLflow store and inference-log database (tests and benchmarks start `bentoml serve` with it)."""
    return {
        **os.environ,
        "HOME": str(folder),
        "BENTOML_HOME": str(folder / "bentoml"),
        "TASADOR_HOME": str(folder / "tasador"),
        "TASADOR_DB_URL": database_url,
        "MLFLOW_TRACKING_URI": tracking_uri,
    }
