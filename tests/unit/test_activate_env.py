"""`source .venv/bin/activate` points tasador at the checkout the venv is in, also after a move or copy."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "activate-env.sh"


def checkout_with_venv(root: Path) -> Path:
    """A folder with .venv/bin/activate as `python -m venv` writes it (its first lines), tasador's block added."""
    activate = root / ".venv" / "bin" / "activate"
    activate.parent.mkdir(parents=True)
    activate.write_text(f'VIRTUAL_ENV="{root / ".venv"}"\nexport VIRTUAL_ENV\n')
    subprocess.run(["bash", str(SCRIPT), ".venv"], cwd=root, check=True)
    return root


def activated_home(checkout: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("TASADOR_HOME", "ZENML_CONFIG_PATH")} | env
    command = 'source .venv/bin/activate && echo "$TASADOR_HOME|$ZENML_CONFIG_PATH"'
    return subprocess.run(
        ["bash", "-c", command], cwd=checkout, env=clean, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_a_copied_checkout_uses_its_own_state_folder(tmp_path: Path) -> None:
    first = checkout_with_venv(tmp_path / "first")
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    assert activated_home(first) == f"{first}/.tasador|{first}/.tasador/zenml"
    assert activated_home(copy) == f"{copy}/.tasador|{copy}/.tasador/zenml"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_running_the_script_again_keeps_one_block_and_an_own_home_wins(tmp_path: Path) -> None:
    checkout = checkout_with_venv(tmp_path / "checkout")
    subprocess.run(["bash", str(SCRIPT), ".venv"], cwd=checkout, check=True)
    assert (checkout / ".venv" / "bin" / "activate").read_text().count("# --- tasador environment ---") == 1
    assert activated_home(checkout, TASADOR_HOME="/srv/tasador").startswith("/srv/tasador|")
