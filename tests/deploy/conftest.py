"""Real Prometheus, Pushgateway and Alertmanager processes on free loopback ports, stopped by their own
pid, and a webhook receiver that records what Alertmanager sends it."""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tasador.settings import Settings
from tests.support.processes import spawn
from tests.support.waiting import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"


def require_tool(name: str, install_hint: str) -> str:
    """Path of a command-line tool (on PATH or beside this interpreter), or skip saying how to get it."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.skip(f"{name} not found on PATH: {install_hint}")
    return path


def _start(args: list[str], ready_path: str, port: int, log: Path) -> Iterator[str]:
    """Run a server until the test ends; yields its base URL."""
    timeout = Settings().configs.observability.local_services.startup_timeout_s
    server = spawn(args, dict(os.environ), log, f"http://127.0.0.1:{port}", ready_path, timeout_s=timeout)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A Pushgateway without persistence; yields its base URL."""
    binary = require_tool("prometheus-pushgateway", "apt-get install prometheus-pushgateway")
    port = free_port()
    args = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
    yield from _start(args, "/-/ready", port, tmp_path / "pushgateway.log")


@contextmanager
def _servers(tmp_path: Path, name: str, args: Callable[[Path, int], list[str]]) -> Iterator[Callable[[str], str]]:
    """A function that starts `name` from a configuration text on a free port (its base URL back);
    every server it started is stopped on exit."""
    servers: list[Iterator[str]] = []

    def start(config: str) -> str:
        config_file = tmp_path / f"{name}.yml"
        config_file.write_text(config)
        port = free_port()
        server = _start(args(config_file, port), "/-/ready", port, tmp_path / f"{name}.log")
        servers.append(server)
        return next(server)

    try:
        yield start
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[[dict], str]]:
    """Start Prometheus with a given configuration (a dict); returns its base URL."""
    binary = require_tool("prometheus", "apt-get install prometheus")

    def args(config_file: Path, port: int) -> list[str]:
        tsdb = tmp_path / "tsdb"
        return [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tsdb}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]

    with _servers(tmp_path, "prometheus", args) as start:
        yield lambda config: start(yaml.safe_dump(config))


@pytest.fixture
def start_alertmanager(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start Alertmanager (one instance, no gossip) with a given configuration text; returns its base URL."""
    binary = shutil.which("prometheus-alertmanager") or require_tool(
        "alertmanager", "apt-get install prometheus-alertmanager"
    )

    def args(config_file: Path, port: int) -> list[str]:
        storage = tmp_path / "alertmanager"
        listen = f"--web.listen-address=127.0.0.1:{port}"
        return [
            binary,
            f"--config.file={config_file}",
            f"--storage.path={storage}",
            listen,
            "--cluster.listen-address=",
        ]

    with _servers(tmp_path, "alertmanager", args) as start:
        yield start


# The module the chart and compose probe MLflow with, as the blackbox exporter's image configures it.
BLACKBOX_MODULES = {"modules": {"http_2xx": {"prober": "http", "http": {"preferred_ip_protocol": "ip4"}}}}


@pytest.fixture
def blackbox_exporter(tmp_path: Path) -> Iterator[str]:
    """Prometheus' blackbox exporter with the http_2xx module; yields its base URL."""
    binary = shutil.which("prometheus-blackbox-exporter") or require_tool(
        "blackbox_exporter", "apt-get install prometheus-blackbox-exporter"
    )
    config = tmp_path / "blackbox.yml"
    config.write_text(yaml.safe_dump(BLACKBOX_MODULES))
    port = free_port()
    args = [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"]
    yield from _start(args, "/-/healthy", port, tmp_path / "blackbox.log")


class Webhook:
    """What an HTTP receiver got: Alertmanager's webhook payloads, in arrival order."""

    def __init__(self, url: str, received: queue.Queue[dict[str, Any]]) -> None:
        self.url = url
        self._received = received

    def next_with(self, alertname: str) -> dict[str, Any]:
        """The first payload carrying `alertname`, waiting for it as long as the live tests wait for a query."""
        deadline = time.monotonic() + Settings().configs.observability.local_services.query_timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                payload = self._received.get(timeout=left)
            except queue.Empty:
                break
            if any(alert["labels"]["alertname"] == alertname for alert in payload["alerts"]):
                return payload
        raise AssertionError(f"the webhook received no {alertname} alert in time")


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """An HTTP server on a free loopback port that keeps every JSON body POSTed to it."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the payloads, not the access log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/alerts", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def eventually(prometheus: str, expr: str) -> list[dict[str, Any]]:
    """The query's result once it has one (Prometheus needs a scrape or two)."""
    timeout = Settings().configs.observability.local_services.query_timeout_s
    try:
        return wait_until(lambda: query(prometheus, expr), timeout, f"a result for {expr!r}", every_s=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; targets: {httpx.get(f'{prometheus}/api/v1/targets').text}") from None


def prometheus_config(
    pushgateway_url: str | None = None, *, service_url: str | None = None, alertmanager_url: str | None = None
) -> dict[str, Any]:
    """Prometheus on tasador's rules, scraping the Pushgateway and the service given, alerting to an Alertmanager."""
    interval = f"{Settings().configs.observability.local_services.scrape_interval_s}s"
    jobs = {
        name: url for name, url in (("tasador-pushgateway", pushgateway_url), ("tasador-serving", service_url)) if url
    }
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(DEPLOY / "prometheus" / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": name,
                "honor_labels": name == "tasador-pushgateway",
                "static_configs": [{"targets": [host(url)]}],
            }
            for name, url in jobs.items()
        ],
    }
    if alertmanager_url:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host(alertmanager_url)]}]}]}
    return config


def host(url: str) -> str:
    return url.split("//", 1)[1]
