"""The Prometheus configuration and alert rules: valid for promtool, and every alert tested both ways."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import DEPLOY, require_tool

PROMETHEUS = DEPLOY / "prometheus"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    binary = require_tool("promtool", "apt-get install prometheus")
    result = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def alert_names() -> set[str]:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_config_and_rules_are_valid() -> None:
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    assert "SUCCESS" in promtool("check", "rules", "rules.yml")


def test_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in promtool("test", "rules", "rules.test.yml")


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    tests = yaml.safe_load((PROMETHEUS / "rules.test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    expected = alert_names()
    assert expected == firing, f"alerts never tested firing: {expected - firing}"
    assert expected == quiet, f"alerts never tested quiet: {expected - quiet}"


@pytest.mark.parametrize(
    "alert",
    [
        "TasadorHighErrorRate",
        "TasadorHighLatencyP99",
        "TasadorNoProductionModel",
        "TasadorInferenceLogBacklog",
        "TasadorStaleData",
        "TasadorRetrainingFailed",
        "TasadorPodRestarting",
        "TasadorMlflowDown",
        "TasadorTrainingDagFailed",
        "TasadorProductionDecay",
        "TasadorServedDrift",
    ],
)
def test_the_alerts_the_issue_asks_for_exist(alert: str) -> None:
    assert alert in alert_names()
