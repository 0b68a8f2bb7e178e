"""One typed settings object for every part of tasador.

Precedence, highest first: explicit overrides (e.g. the active ZenML stack's values, resolved by
`stacks.resolve`), environment variables `TASADOR_*` (plus the standard `MLFLOW_TRACKING_URI`),
then the embedded defaults under `.tasador/` in the working directory. Tunable numbers of the
pipelines live in `configs/*.yaml`, typed by `tasador.configs` and read through `settings.configs`.
Every `TASADOR_*` variable tasador reads is a field here; nothing else reads them.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasador.configs import CONFIG_DIR, Configs


class Settings(BaseSettings):
    """Where tasador keeps its state and which services it talks to."""

    # An empty variable (compose's `${X:-}`) means unset, as it did when each was read on its own: an empty
    # TASADOR_MODEL_DIR must not serve the working directory as a model.
    model_config = SettingsConfigDict(env_prefix="TASADOR_", extra="ignore", env_ignore_empty=True)

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

    config_dir: Path = Field(
        default=CONFIG_DIR, description="Folder of the configs/*.yaml files; a copy runs the loop with other rules."
    )
    serving_config: Path | None = Field(
        default=None, description="A serving.yaml used instead of the one in `config_dir` (a deployment's own)."
    )
    ui_config: Path | None = Field(default=None, description="A ui.yaml used instead of the one in `config_dir`.")
    model_dir: Path | None = Field(
        default=None, description="A model folder bundled in the image: the service serves it as is, without MLflow."
    )
    pushgateway_url: str | None = Field(
        default=None, description="Prometheus Pushgateway the pipelines push the loop's metrics to; unset: none."
    )

    @cached_property
    def configs(self) -> Configs:
        """The typed configs/*.yaml of `config_dir`, each file read once per Settings instance."""
        return Configs(self.config_dir, serving_file=self.serving_config, ui_file=self.ui_config)

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
