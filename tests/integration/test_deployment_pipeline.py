"""`python run.py --pipeline deployment` as a user runs it: on the local stack, twice, and where the base image
of the service's image is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasador.serving.build import base_image
from tests.support.prod import run_cli
from tests.support.service import register_version, set_production, synthetic_listings, train_predictor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def user_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh home on the local stack whose MLflow has a `production` model, as after `make run`."""
    root = tmp_path_factory.mktemp("deployment")
    env = {
        **os.environ,
        "TASADOR_HOME": str(root / "home"),
        "ZENML_CONFIG_PATH": str(root / "zenml"),
        "BENTOML_HOME": str(root / "bentoml"),
    }
    for key in ("MLFLOW_TRACKING_URI", "TASADOR_DB_URL"):
        env.pop(key, None)
    applied = run_cli("stack", "apply", "stacks/local.yaml", "--activate", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    tracking_uri = f"sqlite:///{root / 'home' / 'mlflow.db'}"
    frame = synthetic_listings()
    set_production(tracking_uri, register_version(tracking_uri, train_predictor(frame), frame, {"rmse": "1.0"}))
    yield env


def _deploy(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("--pipeline", "deployment", *extra, env=env)


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The lines of the run's summary, by their first word (model, bento, image)."""
    lines = [line.strip().split(None, 1) for line in result.stdout.splitlines()]
    return {words[0]: words[1] for words in lines if len(words) == 2 and words[0] in ("model", "bento", "image")}


def test_a_second_run_reuses_the_bento_and_no_image_skips_the_image(user_env: dict[str, str]) -> None:
    first = _deploy(user_env, "--no-image")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    summary = _summary(first)
    assert summary["model"] == "tasador-price v1"
    tag = summary["bento"].split()[0]
    assert tag.startswith("tasador_price:v1-") and summary["bento"].endswith("(built)")
    assert summary["image"] == "not built (--no-image)"

    second = _deploy(user_env, "--no-image")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert _summary(second)["bento"] == f"{tag} (reused: already built from the same model version and commit)"
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "bentoml"), "list", "-o", "json"],
        env=user_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.count(tag) == 1


def test_a_missing_base_image_is_named_with_the_command_that_builds_it(
    user_env: dict[str, str], tmp_path: Path
) -> None:
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (apt-get install buildah): no image is attempted without it")
    # An empty container store of its own: buildah is there, the base image is not (as on a fresh machine).
    storage = tmp_path / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path / "run"}"\ngraphroot = "{tmp_path / "graph"}"\n'
    )
    result = _deploy({**user_env, "CONTAINERS_STORAGE_CONF": str(storage)})

    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    summary = _summary(result)
    assert summary["bento"].startswith("tasador_price:v1-")  # the bento is built and said so
    assert f"the base image {base_image()} is missing" in summary["image"]
    assert "deploy/containers/base/build-base.sh" in summary["image"] and "--no-image" in summary["image"]
    assert "CalledProcessError" not in result.stdout + result.stderr
