"""Ports, names and credentials of the local production services (`configs/services.yaml` + environment)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel

from tasador.settings import load_config

#: Dev-only S3 credentials: moto accepts any key; a real MinIO/S3 gets its own from the environment.
DEV_S3_KEY = "tasador-dev"
DEV_S3_SECRET = "tasador-dev-secret"


class PostgresConfig(BaseModel):
    host: str
    port: int
    admin_database: str
    app_database: str
    mlflow_database: str

    def url(self, database: str) -> str:
        """SQLAlchemy URL of `database`; user and password from PGUSER / PGPASSWORD (dev: postgres, none)."""
        user = quote(os.environ.get("PGUSER", "postgres"), safe="")
        password = os.environ.get("PGPASSWORD")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{database}"


class S3Config(BaseModel):
    port: int
    bucket: str
    region: str


class MlflowConfig(BaseModel):
    port: int
    workers: int
    artifacts_path: str
    webhook_cache_ttl_s: int


class Timeouts(BaseModel):
    start_s: float
    stop_s: float
    preflight_s: float


class ServicesConfig(BaseModel):
    host: str
    state_dir: Path
    postgres: PostgresConfig
    s3: S3Config
    mlflow: MlflowConfig
    timeouts: Timeouts

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.host}:{self.s3.port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.host}:{self.mlflow.port}"

    @property
    def mlflow_artifacts_destination(self) -> str:
        return f"s3://{self.s3.bucket}/{self.mlflow.artifacts_path}"

    @property
    def database_url(self) -> str:
        """RAW/CLEAN database."""
        return self.postgres.url(self.postgres.app_database)

    @property
    def mlflow_backend_url(self) -> str:
        return self.postgres.url(self.postgres.mlflow_database)


def load_services_config() -> ServicesConfig:
    return ServicesConfig.model_validate(load_config("services"))


def s3_credentials() -> dict[str, str]:
    """AWS-style credentials from the environment, with the dev-only defaults that moto accepts."""
    return {
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", DEV_S3_KEY),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", DEV_S3_SECRET),
    }
