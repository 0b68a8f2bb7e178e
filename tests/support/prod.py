"""The production services for tests: PostgreSQL databases, moto's S3 server and an MLflow server.

The servers are the ones `python run.py services up` starts (tasador.services), on free loopback ports,
with pid files and logs in a temporary folder; they are stopped by their own pids at the end of the
session and their databases dropped. tests/conftest.py registers this module as a plugin: a test asks for
`prod_services`, `app_database` or `prod_env` by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tasador.configs import ServicesConfig
from tasador.services import start_services, stop_services
from tasador.services.config import s3_credentials
from tasador.services.postgres import ensure_database
from tasador.settings import Settings
from tests.support.paths import REPO_ROOT
from tests.support.postgres import drop_database, postgres_available
from tests.support.waiting import free_port


def isolated_services_file(config_dir: Path, state_dir: Path, prefix: str) -> ServicesConfig:
    """configs/services.yaml written into `config_dir` (for TASADOR_CONFIG_DIR) with free ports, `state_dir` and
    fresh database names, so what `services up` starts from it meets nobody else's services."""
    config = yaml.safe_load((REPO_ROOT / "configs" / "services.yaml").read_text())
    suffix = uuid.uuid4().hex[:8]
    config["state_dir"] = str(state_dir)
    config["s3"]["port"], config["mlflow"]["port"] = free_port(), free_port()
    config["postgres"]["app_database"] = f"tasador_{prefix}_{suffix}"
    config["postgres"]["mlflow_database"] = f"tasador_{prefix}_mlflow_{suffix}"
    (config_dir / "services.yaml").write_text(yaml.safe_dump(config))
    return ServicesConfig.model_validate(config)


@contextmanager
def running_services(state_dir: Path, prefix: str) -> Iterator[ServicesConfig]:
    """moto S3 + MLflow (metadata in a fresh PostgreSQL database) of their own, on free loopback ports;
    stopped by their pids and their databases dropped at the end."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    base = Settings().configs.services
    suffix = uuid.uuid4().hex[:8]
    config = base.model_copy(
        update={
            "state_dir": state_dir,
            "postgres": base.postgres.model_copy(
                update={
                    "app_database": f"tasador_{prefix}{suffix}",
                    "mlflow_database": f"tasador_mlflow_{prefix}{suffix}",
                }
            ),
            "s3": base.s3.model_copy(update={"port": free_port()}),
            "mlflow": base.mlflow.model_copy(update={"port": free_port()}),
        }
    )
    try:
        start_services(config)
        yield config
    finally:
        stop_services(config)
        drop_database(config.mlflow_backend_url, config.postgres.admin_database)
        drop_database(config.database_url, config.postgres.admin_database)


@pytest.fixture(scope="session")
def prod_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServicesConfig]:
    """The production services for the whole session."""
    with running_services(tmp_path_factory.mktemp("services"), "t") as config:
        yield config


@pytest.fixture
def app_database(prod_services: ServicesConfig) -> Iterator[str]:
    """A RAW/CLEAN database of its own for one test (dropped afterwards); returns its URL."""
    url = prod_services.postgres.url(f"tasador_app_{uuid.uuid4().hex[:10]}")
    ensure_database(url, prod_services.postgres.admin_database)
    yield url
    drop_database(url, prod_services.postgres.admin_database)


@pytest.fixture
def prod_env(prod_services: ServicesConfig, app_database: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a CLI process that runs on the production stack files against these services.

    No S3 keys: as after `services up`, runs get them from the stack's ZenML secret (dev-only keys)."""
    from sqlalchemy.engine import make_url

    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "TASADOR_HOME": str(tmp_path / "home"),
        "AWS_DEFAULT_REGION": prod_services.s3.region,
        "TASADOR_S3_ENDPOINT": prod_services.s3_endpoint,
        "TASADOR_S3_BUCKET": prod_services.s3.bucket,
        "TASADOR_MLFLOW_URL": prod_services.mlflow_url,
        "TASADOR_PG_DATABASE": make_url(app_database).database or "",
    }
    for key in ("TASADOR_DB_URL", "MLFLOW_TRACKING_URI", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key, None)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`python run.py ARGS` in the repository, as a user types it."""
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def bucket_files(config: ServicesConfig, prefix: str) -> list[str]:
    """Keys under `prefix` in the test bucket, listed with s3fs as ZenML and MLflow see them."""
    import s3fs

    credentials = s3_credentials()
    fs = s3fs.S3FileSystem(
        key=credentials["AWS_ACCESS_KEY_ID"],
        secret=credentials["AWS_SECRET_ACCESS_KEY"],
        client_kwargs={"endpoint_url": config.s3_endpoint, "region_name": config.s3.region},
    )
    path = f"{config.s3.bucket}/{prefix}"
    return fs.find(path) if fs.exists(path) else []
