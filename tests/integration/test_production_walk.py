"""The README's production walk, run as written from a clean home: no S3 keys exported, to a trained batch."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tasador.services import stop_services
from tasador.store import Store
from tests.support.paths import REPO_ROOT
from tests.support.postgres import drop_database, postgres_available
from tests.support.prod import isolated_services_file

#: Variables a user's fresh shell would not have, or that would point this run somewhere else.
_NOT_IN_A_FRESH_SHELL = re.compile(r"^(AWS_|TASADOR_|ZENML_|MLFLOW_|BENTOML_|VIRTUAL_ENV$)")


def readme_production_walk() -> list[str]:
    """The commands of the README's bash block that applies the production stack, in order."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO_ROOT / "README.md").read_text(), flags=re.S)
    walk = [block for block in blocks if "stack apply stacks/production.yaml" in block]
    assert len(walk) == 1, "the README has no single production walk"
    return [line for line in walk[0].splitlines() if line.strip()]


def test_the_readme_walk_is_what_this_test_runs() -> None:
    commands = [line.split("#")[0].strip() for line in readme_production_walk()]
    assert commands == [
        "source .venv/bin/activate",
        "python run.py services up",
        "python run.py stack apply stacks/production.yaml",
        "zenml stack set production",
        "python run.py --pipeline training",
        "python run.py services down",
    ]


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(2400)  # services up (MLflow ~40 s) and one training run on two busy cores
def test_the_readme_production_walk_trains_a_batch_from_a_clean_home(tmp_path: Path) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    # The same configs, on free ports and fresh databases, so the walk cannot meet anyone else's services.
    configs = tmp_path / "configs"
    shutil.copytree(REPO_ROOT / "configs", configs)
    config = isolated_services_file(configs, tmp_path / "services", "walk")

    env = {key: value for key, value in os.environ.items() if not _NOT_IN_A_FRESH_SHELL.match(key)}
    env.update(
        HOME=str(tmp_path / "user"),
        TASADOR_HOME=str(tmp_path / "tasador"),
        TASADOR_CONFIG_DIR=str(configs),
        TASADOR_S3_ENDPOINT=config.s3_endpoint,
        TASADOR_MLFLOW_URL=config.mlflow_url,
        TASADOR_PG_DATABASE=config.postgres.app_database,
    )
    (tmp_path / "user").mkdir()
    script = "set -eo pipefail\n" + "\n".join(readme_production_walk()) + "\n"
    try:
        walk = subprocess.run(
            ["bash", "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=2300
        )
        assert walk.returncode == 0, walk.stdout[-4000:] + walk.stderr[-4000:]
        assert "Batch 1 " in walk.stdout and "version 1 promoted" in walk.stdout, walk.stdout[-3000:]
        assert "stopped: mlflow, s3" in walk.stdout

        batches = Store(config.database_url, create=False).batches()
        assert [(b.batch_number, b.status) for b in batches] == [(1, "done")]
    finally:
        stop_services(config)
        drop_database(config.mlflow_backend_url, config.postgres.admin_database)
        drop_database(config.database_url, config.postgres.admin_database)
