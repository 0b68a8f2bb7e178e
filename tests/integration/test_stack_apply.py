"""Applying a stack file against a real ZenML store (in a temporary config folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def zenml_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml"), "TASADOR_HOME": str(tmp_path / "home")}


@pytest.mark.slow
def test_apply_is_idempotent_and_follows_the_file(zenml_env: dict[str, str], tmp_path: Path) -> None:
    first = cli("stack", "apply", "stacks/local.yaml", "--activate", env=zenml_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("registered") == 5

    again = cli("stack", "apply", "stacks/local.yaml", env=zenml_env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("unchanged") == 5

    changed = tmp_path / "local.yaml"
    changed.write_text((REPO / "stacks" / "local.yaml").read_text().replace("{home}/artifacts", "{home}/artifacts-2"))
    updated = cli("stack", "apply", str(changed), env=zenml_env)
    assert "updated  artifact_store" in updated.stdout

    probe = (
        "from stacks.resolve import active_settings; s = active_settings();print(s.database_url); print(s.tracking_uri)"
    )
    resolved = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=zenml_env, capture_output=True, text=True, timeout=300
    )
    home = tmp_path / "home"
    assert resolved.stdout.split() == [f"sqlite:///{home}/tasador.db", f"sqlite:///{home}/mlflow.db"]
