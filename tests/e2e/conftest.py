"""The whole system for the browser: three batches through the real training pipeline, the real service
on its `production` model, the app under `streamlit run`, and Debian's Chromium. Every process is
started here on a free loopback port and stopped by its own pid."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.paths import REPO_ROOT
from tests.support.processes import Process, spawn
from tests.support.service import serving_config, start_service
from tests.support.waiting import free_port, wait_until
from ui.screens import CHROMIUM, CHROMIUM_ARGS

BATCHES = 3
PIPELINE_TIMEOUT_S = 1800  # three batches with training, search and SHAP: 811 s on a loaded 2-core machine
MODEL_LOAD_TIMEOUT_S = 300


@dataclass(frozen=True)
class System:
    home: Path
    env: dict[str, str]  # what every process of this system runs with

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'tasador.db'}"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.home / 'mlflow.db'}"


def _run(args: list[str], env: dict[str, str], timeout: float) -> None:
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        pytest.fail(
            f"`python {' '.join(args)}` failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def processed_system(tmp_path_factory: pytest.TempPathFactory) -> System:
    """Three batches processed by `run.py --pipeline training` on the local stack, as `make run` does."""
    root = tmp_path_factory.mktemp("e2e")
    home = root / "home"
    env = {**os.environ, "TASADOR_HOME": str(home), "ZENML_CONFIG_PATH": str(root / "zenml"), "HOME": str(root)}
    _run(["run.py", "stack", "apply", "stacks/local.yaml", "--activate"], env, timeout=300)
    _run(["run.py", "--pipeline", "training", "--batches", str(BATCHES)], env, timeout=PIPELINE_TIMEOUT_S)
    return System(home, env)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="session")
def service(processed_system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """`bentoml serve` on the system's stores, serving its `production` version."""
    root = tmp_path_factory.mktemp("e2e-service")
    config = serving_config(root / "serving.yaml", service={"workers": 1})
    process = start_service(root, processed_system.tracking_uri, processed_system.database_url, config)
    try:
        wait_until(lambda: _ready(process.url), MODEL_LOAD_TIMEOUT_S, "the service to load its production model")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def app_url(processed_system: System, service: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free loopback port, reading the system and calling the service."""
    port = free_port()
    env = {
        **processed_system.env,
        "TASADOR_DB_URL": processed_system.database_url,
        "MLFLOW_TRACKING_URI": processed_system.tracking_uri,
        "TASADOR_SERVING_URL": service.url,
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "ui/app.py",
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    log = tmp_path_factory.mktemp("e2e-app") / "streamlit.log"
    app = spawn(command, env, log, f"http://127.0.0.1:{port}", "/_stcore/health")
    try:
        yield app.url
    finally:
        app.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (or `make system-deps`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
