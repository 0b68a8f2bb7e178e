"""Start, stop and inspect the production services on this machine, without Docker.

PostgreSQL is expected to run already (it is a system service); its databases are created when missing.
moto's S3 server and the MLflow tracking server are started as background processes whose pids live
in `state_dir`, so `services down` (or a test fixture) stops exactly those processes.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

import httpx

from tasador.configs import ServicesConfig
from tasador.services.config import s3_credentials
from tasador.services.postgres import ensure_database
from tasador.services.processes import (
    ServiceStartError,
    running_pid,
    start_process,
    stop_process,
    wait_until,
)
from tasador.services.s3 import ensure_bucket
from tasador.serving.registry_events import webhook_delivery_env

S3 = "s3"
MLFLOW = "mlflow"
#: Stopped in this order: MLflow writes to S3, so it goes first.
SERVICES = (MLFLOW, S3)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    url: str
    pid: int | None

    @property
    def running(self) -> bool:
        return self.pid is not None


def start_services(config: ServicesConfig) -> dict[str, str]:
    """Bring every service up (those already running are kept) and return their URLs by name."""
    ensure_database(config.database_url, config.postgres.admin_database)
    ensure_database(config.mlflow_backend_url, config.postgres.admin_database)
    _start_s3(config)
    ensure_bucket(config.s3_endpoint, config.s3.bucket, config.s3.region, s3_credentials())
    _start_mlflow(config)
    return {
        "database": config.database_url,
        "mlflow": config.mlflow_url,
        "mlflow_backend": config.mlflow_backend_url,
        "s3": config.s3_endpoint,
        "bucket": f"s3://{config.s3.bucket}",
    }


def stop_services(config: ServicesConfig) -> list[str]:
    """Stop the services this machine started (by their recorded pids); names of those stopped."""
    return [name for name in SERVICES if stop_process(config.state_dir, name, config.timeouts.stop_s)]


def status(config: ServicesConfig) -> list[ServiceStatus]:
    urls = {S3: config.s3_endpoint, MLFLOW: config.mlflow_url}
    return [ServiceStatus(name, urls[name], running_pid(config.state_dir, name)) for name in SERVICES]


def service_env(config: ServicesConfig) -> dict[str, str]:
    """Environment of the services: the caller's, plus S3 credentials/endpoint and telemetry off."""
    return {
        **os.environ,
        **s3_credentials(),
        "AWS_DEFAULT_REGION": config.s3.region,
        "MLFLOW_S3_ENDPOINT_URL": config.s3_endpoint,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def _start_s3(config: ServicesConfig) -> None:
    argv = [sys.executable, "-m", "moto.server", "-H", config.host, "-p", str(config.s3.port)]
    _launch(config, S3, "moto S3 server", config.s3.port, "s3.port", argv, config.s3_endpoint + "/moto-api/")


def _start_mlflow(config: ServicesConfig) -> None:
    argv = [
        sys.executable, "-m", "mlflow", "server",
        "--host", config.host,
        "--port", str(config.mlflow.port),
        "--workers", str(config.mlflow.workers),
        "--backend-store-uri", config.mlflow_backend_url,
        # Artifacts are proxied by the server: clients need no S3 credentials to log or load models.
        "--serve-artifacts",
        "--artifacts-destination", config.mlflow_artifacts_destination,
    ]  # fmt: skip
    _launch(
        config,
        MLFLOW,
        "MLflow tracking server",
        config.mlflow.port,
        "mlflow.port",
        argv,
        config.mlflow_url + "/health",
        extra_env=webhook_delivery_env(config.state_dir, config.mlflow.webhook_cache_ttl_s),
    )


def _launch(
    config: ServicesConfig,
    name: str,
    label: str,
    port: int,
    port_key: str,
    argv: list[str],
    ready_url: str,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Start service `name` unless it already runs, and wait until `ready_url` answers."""
    if running_pid(config.state_dir, name) is not None:
        return
    _ensure_port_free(config.host, port, port_key)
    start_process(name, argv, service_env(config) | (extra_env or {}), config.state_dir)
    wait_until(
        lambda: _http_ok(ready_url),
        name=name,
        label=label,
        state_dir=config.state_dir,
        timeout_s=config.timeouts.start_s,
    )


def _ensure_port_free(host: str, port: int, setting: str) -> None:
    with socket.socket() as sock:
        if sock.connect_ex((host, port)) == 0:
            raise ServiceStartError(
                f"Port {host}:{port} is already taken by a process these services did not start; "
                f"stop it or change `{setting}` in configs/services.yaml."
            )


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
