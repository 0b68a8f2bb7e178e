"""The bento and its OCI image: built with buildah (no Docker daemon), run with podman, serving the
bundled model with no MLflow in reach, as a non-root user."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tasador.settings import Settings
from tests.support.paths import REPO_ROOT
from tests.support.service import LISTING, register_version, set_production, synthetic_listings, train_predictor
from tests.support.waiting import free_port, wait_until

BASE_IMAGE = "localhost/python:3.11-slim"
PODMAN_RUN = ["podman", "run", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
BUILD_TIMEOUT_S = 2400  # the image installs mlflow, xgboost & co. from PyPI: many minutes on a busy machine

pytestmark = [pytest.mark.slow, pytest.mark.long, pytest.mark.timeout(BUILD_TIMEOUT_S + 300)]


def rlimits() -> list[str]:
    """podman's default open-files limit is above what this machine grants a container: ask for less."""
    limits = Settings().configs.observability.local_services
    nofile = min(limits.container_nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    nproc = limits.container_nproc
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def _image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def base_image() -> str:
    for tool in ("buildah", "podman"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install buildah podman)")
    if not _image_exists(BASE_IMAGE):
        pytest.skip(f"{BASE_IMAGE} is missing: build it with deploy/containers/base/build-base.sh (root, debootstrap)")
    return BASE_IMAGE


def _python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_image_serves_the_bundled_model_without_mlflow(base_image: str, tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    frame = synthetic_listings()
    version = register_version(tracking_uri, train_predictor(frame), frame, {"decision": "promoted", "rmse": "1.0"})
    set_production(tracking_uri, version)
    # BentoML's store is chosen at import: build in a child process with its own BENTOML_HOME.
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "MLFLOW_TRACKING_URI": tracking_uri}
    tag = _python(
        "from tasador.serving.build import build_bento\n"
        "from tasador.settings import Settings\n"
        f"print(build_bento(Settings(), {version!r}))",
        env,
    )
    assert tag.split(":")[1].startswith(f"v{version}-")
    labels = json.loads(_python(f"import bentoml, json; print(json.dumps(bentoml.get({tag!r}).info.labels))", env))
    assert labels["model_version"] == version and labels["git_sha"]

    image = f"localhost/tasador-test-{uuid.uuid4().hex[:8]}:latest"
    try:
        _python(f"from tasador.serving.build import containerize; print(containerize({tag!r}, {image!r}))", env)
        user = subprocess.run(
            [*PODMAN_RUN, *rlimits(), "--rm", "--entrypoint", "id", image, "-u"], capture_output=True, text=True
        )
        assert user.stdout.strip() not in ("", "0")

        port = free_port()
        name = f"tasador-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [*PODMAN_RUN, *rlimits(), "-d", "--name", name, "--network", "host", "-e", f"PORT={port}",
             "-e", "TASADOR_HOME=/tmp/tasador", "-e", "MLFLOW_TRACKING_URI=http://127.0.0.1:9", image],
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"

            def ready() -> bool:
                try:
                    return httpx.get(url + "/ready", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, timeout=180, what="the container to serve its bundled model")
            answer = httpx.post(url + "/predict", json={"listings": [LISTING]}, timeout=30)
            assert answer.status_code == 200 and answer.json()["model_version"] == version
            info = httpx.get(url + "/model").json()
            assert info["source"] == "bundle" and info["metrics"] == {"rmse": 1.0}
        finally:
            subprocess.run(["podman", "rm", "-f", name], capture_output=True)
    finally:
        subprocess.run(["podman", "rmi", "-f", image], capture_output=True)
