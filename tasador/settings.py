"""One typed settings object for every part of tasador.

Precedence, highest first: explicit overrides (e.g. the active ZenML stack's values, resolved by
`stacks.resolve`), environment variables `TASADOR_*` (plus the standard `MLFLOW_TRACKING_URI`),
then the embedded defaults under `.tasador/` in the working directory. Tunable numbers of the
pipelines live in `configs/*.yaml`, loaded through `load_config`.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"


class Settings(BaseSettings):
    """Where tasador keeps its state and which services it talks to."""

    model_config = SettingsConfigDict(env_prefix="TASADOR_", extra="ignore")

    home: Path = Field(default=Path(".tasador"), description="Folder of the embedded defaults.")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL of RAW/CLEAN; SQLite under `home` when unset.")
    mlflow_tracking_uri: str | None = Field(
        default=None,
        # The field's own name first, so Settings(mlflow_tracking_uri=...) wins over the environment, as
        # every other field's keyword does (the environment names alone would make it ignored).
        validation_alias=AliasChoices("mlflow_tracking_uri", "MLFLOW_TRACKING_URI", "TASADOR_MLFLOW_TRACKING_URI"),
        description="MLflow tracking server or store; a SQLite store under `home` when unset.",
    )
    experiment_name: str = "tasador"
    registered_model_name: str = "tasador-price"
    production_alias: str = "production"

    source: Literal["inprocess", "http"] = Field(
        default="inprocess", description="Where batches come from: the in-process generator or a data API."
    )
    data_api_url: str = Field(default="http://127.0.0.1:8800", description="Base URL of the data API.")
    data_api_day: str | None = Field(
        default=None, description="The `day` some deployments of the course's data API require (e.g. Tuesday)."
    )
    group_number: int = 1

    serving_url: str = Field(default="http://127.0.0.1:3000", description="Base URL of the service.")
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token of the service's /admin routes; unset, they refuse every call."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC secret of the registry's webhook (stack apply registers it; the service checks it).",
    )

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.home_dir / 'tasador.db'}"

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def reports_dir(self) -> Path:
        """Data reports (GX HTML/JSON per batch) and the model history report."""
        return self.home_dir / "reports"

    def ensure_home(self) -> Path:
        self.home_dir.mkdir(parents=True, exist_ok=True)
        return self.home_dir


def load_config(name: str, config_dir: Path | None = None) -> dict[str, Any]:
    """Load `<name>.yaml` from `configs/` (or `TASADOR_CONFIG_DIR`) as a plain dict.

    Every tunable number lives there; pointing TASADOR_CONFIG_DIR at a copy runs the loop with other rules.
    """
    folder = config_dir or Path(os.environ.get("TASADOR_CONFIG_DIR") or CONFIG_DIR)
    path = folder / f"{name}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"Config {path} is missing; every pipeline reads its numbers from configs/.")
    with path.open() as fh:
        return yaml.safe_load(fh) or {}
