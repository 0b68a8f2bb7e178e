"""Real Prometheus and Pushgateway processes on free loopback ports, stopped by their own pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.error import URLError

import pytest
import yaml

from tasador.settings import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_tool(name: str, install_hint: str) -> str:
    """Path of a command-line tool (on PATH or beside this interpreter), or skip saying how to get it."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.skip(f"{name} not found on PATH: {install_hint}")
    return path


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + load_config("observability")["local_services"]["startup_timeout_s"]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{process.args[0]} did not answer {url} in time:\n{log.read_text()[-2000:]}")


def _start(args: list[str], ready_path: str, port: int, log: Path) -> Iterator[str]:
    """Run a server until the test ends; yields its base URL."""
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url + ready_path, process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A Pushgateway without persistence; yields its base URL."""
    binary = require_tool("prometheus-pushgateway", "apt-get install prometheus-pushgateway")
    port = free_port()
    args = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
    yield from _start(args, "/-/ready", port, tmp_path / "pushgateway.log")


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[[dict], str]]:
    """Start Prometheus with a given configuration (a dict); returns its base URL."""
    binary = require_tool("prometheus", "apt-get install prometheus")
    servers: list[Iterator[str]] = []

    def start(config: dict) -> str:
        config_file = tmp_path / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        port = free_port()
        args = [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        server = _start(args, "/-/ready", port, tmp_path / "prometheus.log")
        servers.append(server)
        return next(server)

    yield start
    for server in servers:
        server.close()
