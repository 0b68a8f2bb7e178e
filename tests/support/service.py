"""Real parts for the service tests: a trained model registered in a real MLflow server, and
`bentoml serve` started on a free loopback port (each a subprocess, stopped by its own pid).

A plugin (tests/conftest.py): `deployment`, `served` and `local_service` are fixtures a test asks for by name."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from tasador.registry.tracking import configure_mlflow
from tasador.schema import FEATURE_COLUMNS
from tasador.settings import Settings
from tests.support.paths import REPO_ROOT
from tests.support.processes import Process, spawn
from tests.support.waiting import free_port, wait_until

MODEL_NAME = "tasador-price"
ALIAS = "production"
WATCH_INTERVAL_S = 1.0

LISTING: dict[str, Any] = {
    "brokered_by": "1001",
    "status": "for_sale",
    "bed": 3,
    "bath": 2,
    "acre_lot": 0.2,
    "street": "7",
    "city": "Austin",
    "state": "Texas",
    "zip_code": "78701",
    "house_size": 1800,
    "prev_sold_date": "2012-05-01",
}


# --- a small model trained with tasador's own encoder and predictor ------------------------------
def synthetic_listings(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Clean-typed listings whose price follows size, state and zip (enough for a sensible model)."""
    rng = np.random.default_rng(seed)
    states = np.array(["Texas", "California", "Florida", "New York", "Ohio"])
    state_factor = dict(zip(states, [1.0, 2.5, 1.3, 2.0, 0.7], strict=True))
    state = rng.choice(states, rows)
    zip_code = np.array([f"{10000 + 1000 * int(np.where(states == s)[0][0]) + rng.integers(0, 20):05d}" for s in state])
    size = rng.lognormal(7.4, 0.4, rows)
    bed = np.clip(np.round(size / 600), 1, 8)
    sold = pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 8000, rows), unit="D")
    frame = pd.DataFrame(
        {
            "brokered_by": [str(b) for b in rng.integers(1000, 1050, rows)],
            "status": rng.choice(["for_sale", "sold"], rows),
            "bed": bed,
            "bath": np.clip(bed - 1, 1, 6),
            "acre_lot": rng.uniform(0.05, 1.0, rows),
            "street": [str(s) for s in rng.integers(1, 500, rows)],
            "city": [f"{s} city" for s in state],
            "state": state,
            "zip_code": zip_code,
            "house_size": size,
            "prev_sold_date": sold.where(rng.uniform(size=rows) > 0.3),
        }
    )
    frame["price"] = 150 * size * frame["state"].map(state_factor) * rng.lognormal(0, 0.1, rows)
    return frame


def train_predictor(frame: pd.DataFrame, price_factor: float = 1.0) -> Any:
    import xgboost as xgb

    from tasador.model.features import FeatureEncoder
    from tasador.model.predictor import Predictor

    frame = frame.assign(price=frame["price"] * price_factor)
    encoder = FeatureEncoder(seed=0)
    matrix = encoder.fit_transform(frame)
    booster = xgb.train(
        {"max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 0},
        xgb.DMatrix(matrix, label=np.log(frame["price"].to_numpy())),
        num_boost_round=40,
    )
    return Predictor(encoder, booster)


@contextmanager
def mlflow_at(tracking_uri: str) -> Iterator[None]:
    """Point MLflow's globals (and the env var it sets) at `tracking_uri` for a block, then back."""
    import mlflow

    saved = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def register_version(tracking_uri: str, predictor: Any, example: pd.DataFrame, tags: dict[str, str]) -> str:
    """Log, register and tag a version (not yet aliased); returns its version number."""
    import mlflow

    from tasador.model.pyfunc import log_model

    # A SQLite store keeps its artifacts beside it (configure_mlflow), never in ./mlruns of the working directory.
    home = Path(tracking_uri.removeprefix("sqlite:///")).parent if tracking_uri.startswith("sqlite:///") else None
    with mlflow_at(tracking_uri):
        configure_mlflow(Settings(home=home or Path(os.environ["TASADOR_HOME"]), mlflow_tracking_uri=tracking_uri))
        with mlflow.start_run():
            uri = log_model(predictor, input_example=example[list(FEATURE_COLUMNS)].head(3))
        version = mlflow.register_model(uri, MODEL_NAME).version
        client = mlflow.MlflowClient()
        for key, value in tags.items():
            client.set_model_version_tag(MODEL_NAME, version, key, value)
    return str(version)


def set_production(tracking_uri: str, version: str) -> None:
    import mlflow

    mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri).set_registered_model_alias(
        MODEL_NAME, ALIAS, version
    )


def start_mlflow(root: Path, port: int | None = None, extra_env: dict[str, str] | None = None) -> Process:
    """A real MLflow tracking server (SQLite metadata, served artifacts) on a loopback port."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(root), **(extra_env or {})}
    return spawn(command, env, root / f"mlflow-{port}.log", f"http://127.0.0.1:{port}", "/health")


def serving_config(path: Path, **overrides: Any) -> Path:
    """configs/serving.yaml with a short watch interval (and any section overrides) written to `path`."""
    config = yaml.safe_load((REPO_ROOT / "configs" / "serving.yaml").read_text())
    config["model_watch"]["interval_s"] = WATCH_INTERVAL_S
    for section, values in overrides.items():
        config[section].update(values)
    path.write_text(yaml.safe_dump(config))
    return path


def isolated_environment(folder: Path, tracking_uri: str, database_url: str) -> dict[str, str]:
    """This process's environment for a service kept under `folder`: its own HOME, BentoML and tasador homes,
    MLflow store and inference-log database."""
    return {
        **os.environ,
        "HOME": str(folder),
        "BENTOML_HOME": str(folder / "bentoml"),
        "TASADOR_HOME": str(folder / "tasador"),
        "TASADOR_DB_URL": database_url,
        "MLFLOW_TRACKING_URI": tracking_uri,
    }


def start_service(
    home: Path, tracking_uri: str, database_url: str, config: Path, extra_env: dict[str, str] | None = None
) -> Process:
    """`bentoml serve` from the repository root (its bentofile.yaml names the service), as a user runs it."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = isolated_environment(home, tracking_uri, database_url) | {"TASADOR_SERVING_CONFIG": str(config)}
    env |= extra_env or {}
    command = [
        sys.executable, "-m", "bentoml", "serve",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    return spawn(command, env, home / "service.log", f"http://127.0.0.1:{port}", "/health")


@dataclass
class Deployment:
    """A running service over a real MLflow server with two registered versions, none in production
    when it starts (so the first test sees a service without a model)."""

    service: Process
    mlflow: Process
    mlflow_root: Path
    database_url: str
    versions: list[str]

    @property
    def url(self) -> str:
        return self.service.url


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    from tests.support.postgres import create_postgres_database, drop_database, postgres_available

    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (the inference log is checked there)")
    root = tmp_path_factory.mktemp("serving")
    database_url = create_postgres_database("tasador_serving")
    mlflow_server: Process | None = None
    service: Process | None = None
    deployed: Deployment | None = None
    try:
        mlflow_server = start_mlflow(root / "mlflow")
        frame = synthetic_listings()
        promoted = dt.datetime.now(dt.UTC).isoformat()
        tags = {"decision": "promoted", "reason": "first model", "batches": "1", "rmse": "51000.5", "mdape": "0.08"}
        v1 = register_version(mlflow_server.url, train_predictor(frame), frame, {**tags, "promoted_at": promoted})
        v2 = register_version(mlflow_server.url, train_predictor(frame, price_factor=3.0), frame, tags)
        config = serving_config(root / "serving.yaml")
        service = start_service(root / "service", mlflow_server.url, database_url, config)
        deployed = Deployment(service, mlflow_server, root / "mlflow", database_url, [v1, v2])
        yield deployed
    finally:
        if service is not None:
            service.stop()
        # The test of an MLflow outage restarts the server: stop whichever one is current.
        current_mlflow = deployed.mlflow if deployed else mlflow_server
        if current_mlflow is not None:
            current_mlflow.stop()
        drop_database(database_url)


@pytest.fixture
def served(deployment: Deployment) -> Deployment:
    """The deployment once a production model is served (promotes v1 the first time)."""
    if metric(deployment.url, "tasador_model_ready") != 1:
        set_production(deployment.mlflow.url, deployment.versions[0])
        # The gauge is the minimum over live workers: 1 once every worker serves a model.
        wait_until(
            lambda: metric(deployment.url, "tasador_model_ready") == 1,
            timeout=60,
            what="every worker to load the first production model",
        )
    return deployment


def metric(url: str, sample: str) -> float | None:
    """The value of one sample (name with labels, as exposed) on /metrics, None when absent."""
    # A worker loading a model answers late on a busy machine (two test files at once on 2 cores).
    for line in httpx.get(url + "/metrics", timeout=30).text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return None


@pytest.fixture(scope="module")
def local_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One worker serving a production model from a local MLflow store, logging to SQLite."""
    with local_deployment(tmp_path_factory.mktemp("local-service")) as service:
        yield service


@contextmanager
def local_deployment(root: Path) -> Iterator[Process]:
    """A production model in the local MLflow store `root/mlflow.db`, served by one worker logging to SQLite."""
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    frame = synthetic_listings()
    set_production(
        tracking_uri, register_version(tracking_uri, train_predictor(frame), frame, {"decision": "promoted"})
    )
    config = serving_config(root / "serving.yaml", service={"workers": 1})
    service = start_service(root / "service", tracking_uri, f"sqlite:///{root / 'tasador.db'}", config)
    try:
        yield service
    finally:
        service.stop()
