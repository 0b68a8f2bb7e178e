"""The data API's image: built with buildah from its Containerfile (no Docker daemon), run with podman
as a non-root user, answering the course contract on loopback."""

from __future__ import annotations

import json
import resource
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tasador.settings import Settings
from tests.support.waiting import wait_until

from .conftest import DEPLOY, REPO_ROOT, free_port, require_tool

pytestmark = [pytest.mark.slow, pytest.mark.long]

BASE_IMAGE = "localhost/python:3.11-slim"
CONTAINERFILE = DEPLOY / "containers" / "data-api" / "Containerfile"
BUILDAH = ["--storage-driver", "overlay"]
PODMAN_RUN = ["run", "--rm", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]


def rlimits() -> list[str]:
    limits = Settings().configs.observability.local_services
    nofile = min(limits.container_nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    nproc = limits.container_nproc
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    buildah = require_tool("buildah", "apt-get install buildah podman")
    podman = require_tool("podman", "apt-get install buildah podman")
    if subprocess.run([podman, "image", "exists", BASE_IMAGE]).returncode != 0:
        pytest.skip(f"{BASE_IMAGE} is missing: build it with deploy/containers/base/build-base.sh (root, debootstrap)")
    tag = f"localhost/tasador-data-api:test-{uuid.uuid4().hex[:8]}"
    # --layers keeps the pip layer between runs: only a change of the pins reinstalls.
    build = [
        buildah, *BUILDAH, "bud", "--isolation", "chroot", "--pull-never", "--layers",
        "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
        "--ignorefile", str(CONTAINERFILE.with_name("Containerfile.dockerignore")),
        "-f", str(CONTAINERFILE), "-t", tag, str(REPO_ROOT),
    ]  # fmt: skip
    result = subprocess.run(build, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield tag
    subprocess.run([buildah, *BUILDAH, "rmi", tag], capture_output=True)


def test_the_image_runs_as_a_non_root_user(image: str) -> None:
    podman = require_tool("podman", "apt-get install podman")
    inspect = subprocess.run([podman, "image", "inspect", image], capture_output=True, text=True, check=True)
    assert json.loads(inspect.stdout)[0]["Config"]["User"] == "10001"


@pytest.fixture
def data_api(image: str, tmp_path: Path) -> Iterator[str]:
    podman = require_tool("podman", "apt-get install podman")
    port = free_port()
    command = [
        podman, *PODMAN_RUN, *rlimits(), "--network", "host", image,
        "python", "run.py", "datasource", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--state-dir", "/home/tasador/.tasador/data_api",
    ]  # fmt: skip
    log = tmp_path / "data-api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:

        def answers_or_exited() -> bool:
            if process.poll() is not None:
                return True  # the assertion below reports the exit with the container's log
            try:
                httpx.get(url + "/health", timeout=2)  # any answer: the container is up
            except httpx.TransportError:
                return False
            return True

        wait_until(
            answers_or_exited,
            Settings().configs.observability.local_services.startup_timeout_s,
            "the data API container to answer",
            every_s=0.5,
        )
        assert process.poll() is None, f"the container exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        yield url
    finally:
        process.terminate()  # podman forwards the signal to the container, then removes it (--rm)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_containerised_data_api_serves_a_batch(data_api: str) -> None:
    answer = httpx.get(f"{data_api}/data", params={"group_number": 1}, timeout=30)
    assert answer.status_code == 200, answer.text
    batch = answer.json()
    assert batch["group_number"] == 1
    assert batch["data"], "the first batch of group 1 is empty"
    assert "price" in batch["data"][0]
