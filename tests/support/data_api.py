"""Real data API servers on free loopback ports, each started as its own process and stopped by its pid."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tasador.services.processes import start_process, stop_process, wait_until
from tests.support.waiting import free_port

START_TIMEOUT_S = 60  # a cold Python importing pandas, scipy and FastAPI on a busy 2-core machine
STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class RunningServer:
    url: str
    pid: int
    name: str
    state_dir: Path  # where the pid file and log live (not the data API's --state-dir)


def _responds(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.TransportError:
            return False

    return ready


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningServer]]:
    """`start_server(argv_after_python, ready_path)` runs `python ARGV` on a fresh port ({port} in ARGV).

    Module-scoped: starting a server costs seconds, so tests share them where they use separate groups.
    """
    started: list[RunningServer] = []
    processes = tmp_path_factory.mktemp("processes")

    def start(args: list[str], ready_path: str = "/health") -> RunningServer:
        port = free_port()
        name = f"server-{uuid.uuid4().hex[:8]}"
        argv = [sys.executable, *(a.format(port=port) for a in args)]
        pid = start_process(name, argv, dict(os.environ), processes)
        server = RunningServer(f"http://127.0.0.1:{port}", pid, name, processes)
        started.append(server)
        wait_until(
            _responds(server.url + ready_path), name=name, label=name, state_dir=processes, timeout_s=START_TIMEOUT_S
        )
        return server

    yield start
    for server in started:
        stop_process(server.state_dir, server.name, STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def data_api(
    start_server: Callable[..., RunningServer], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., RunningServer]:
    """`data_api(*options, state_dir=None)` starts `datasource serve` with those CLI options."""

    def start(*options: str, state_dir: Path | None = None) -> RunningServer:
        state = state_dir or tmp_path_factory.mktemp("data_api")
        args = ["-m", "tasador.data_api.cli", "serve", "--port", "{port}", "--state-dir", str(state), *options]
        return start_server(args)

    return start


def stop(server: RunningServer) -> None:
    stop_process(server.state_dir, server.name, STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def static_server(
    start_server: Callable[..., RunningServer], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], RunningServer]:
    """`static_server(body)`: Python's own file server answering every GET /data?... with `body`."""

    def start(body: str) -> RunningServer:
        root = tmp_path_factory.mktemp("static")
        (root / "data").write_text(body)  # the file server ignores the query string: /data?group_number=1
        return start_server(["-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(root)], "/data")

    return start
