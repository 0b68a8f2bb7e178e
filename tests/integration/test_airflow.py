"""The training pipeline as a real Airflow 3 DAG (SQLite metadata, `airflow dags test`), no Docker.

Airflow runs from its own virtualenv (`bash airflow/setup.sh`); each task runs one ZenML step with the
project's interpreter. The services are the production ones (moto S3, MLflow on PostgreSQL).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from tasador.services import ServicesConfig
from tasador.store import Store
from tests.integration.prod_fixtures import *  # noqa: F403 - the fixtures
from tests.integration.prod_fixtures import REPO, query, run_cli

AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"
DAG_ID = "tasador_training"
RETRY_DELAY_S = 5

SUBMIT = """
import sys
from zenml.config import DockerSettings
from zenml.utils import source_utils

source_utils.set_custom_source_root({repo!r})
sys.path.insert(0, {repo!r})
from pipelines.training import training

training.with_options(
    config_path={repo!r} + "/configs/training.yaml",
    settings={{
        "docker": DockerSettings(parent_image="tasador/pipeline:dev", skip_build=True),
        "orchestrator.airflow": {{"dag_id": {dag_id!r}}},
    }},
    retry={{"max_retries": 2, "delay": 1}},
)()
"""

DAGBAG = """
import json
from airflow.dag_processing.dagbag import DagBag

bag = DagBag({folder!r})
print(json.dumps({{"import_errors": bag.import_errors, "dag_ids": sorted(bag.dag_ids)}}))
"""

pytestmark = pytest.mark.skipif(not AIRFLOW.exists(), reason=f"no Airflow at {AIRFLOW}: run `bash airflow/setup.sh`")


def _airflow(*args: str, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=timeout)


def _kill_first_step_once(airflow: subprocess.Popen[str], step: str) -> threading.Thread:
    """SIGKILL the process running `step` as soon as it starts: a worker lost mid-task, once."""

    def watch() -> None:
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and airflow.poll() is None:
            for child in psutil.Process(airflow.pid).children(recursive=True):
                try:
                    argv = child.cmdline()
                except psutil.NoSuchProcess:
                    continue
                if "--step_name" in argv and argv[argv.index("--step_name") + 1] == step:
                    child.kill()
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=watch, daemon=True)
    killer.start()
    return killer


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(3600)  # two batches of nine step processes each, plus Airflow's own start-up
def test_training_runs_as_an_airflow_dag_retries_a_failed_task_and_takes_a_batch_per_run(
    prod_services: ServicesConfig, prod_env: dict[str, str], app_database: str, tmp_path: Path
) -> None:
    stack_file = tmp_path / "airflow.yaml"
    stack_file.write_text(
        (REPO / "stacks" / "airflow.yaml").read_text().replace("retry_delay: 30", f"retry_delay: {RETRY_DELAY_S}")
    )
    applied = run_cli("stack", "apply", str(stack_file), "--activate", env=prod_env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    submit = tmp_path / "submit.py"
    submit.write_text(SUBMIT.format(repo=str(REPO), dag_id=DAG_ID))
    submitted = subprocess.run(
        [sys.executable, str(submit)], cwd=REPO, env=prod_env, capture_output=True, text=True, timeout=900
    )
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    airflow_home = Path(prod_env["TASADOR_HOME"]) / "airflow"
    assert (airflow_home / "dags" / f"{DAG_ID}.zip").exists()

    env = {**prod_env, "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    migrated = _airflow("db", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    dagbag = subprocess.run(
        [str(AIRFLOW.parent / "python"), "-c", DAGBAG.format(folder=str(airflow_home / "dags"))],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert dagbag.returncode == 0, dagbag.stderr[-3000:]
    parsed = json.loads(dagbag.stdout.strip().splitlines()[-1])
    assert parsed == {"import_errors": {}, "dag_ids": [DAG_ID]}

    # First run: the process of its first task dies once; Airflow retries the task and the run completes.
    started = time.monotonic()
    with subprocess.Popen(
        [str(AIRFLOW), "dags", "test", DAG_ID], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as first:
        killer = _kill_first_step_once(first, "fetch_batch")
        first_log, _ = first.communicate(timeout=1800)
    first_s = time.monotonic() - started
    killer.join(timeout=10)
    assert first.returncode == 0, first_log[-8000:]

    started = time.monotonic()
    second = _airflow("dags", "test", DAG_ID, env=env)
    second_s = time.monotonic() - started
    assert second.returncode == 0, second.stdout[-8000:] + second.stderr[-3000:]
    print(f"airflow dags test, one batch: {first_s:.0f} s (with a retry), {second_s:.0f} s")

    with sqlite3.connect(airflow_home / "airflow.db") as conn:
        runs = conn.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id", (DAG_ID,)).fetchall()
        fetch_tries = conn.execute(
            "SELECT try_number FROM task_instance WHERE dag_id = ? AND task_id = 'fetch_batch' AND run_id = ?",
            (DAG_ID, runs[0][0]),
        ).fetchone()[0]
        tasks = conn.execute("SELECT count(*) FROM task_instance WHERE run_id = ?", (runs[1][0],)).fetchone()[0]
    assert [state for _, state in runs] == ["success", "success"]
    assert fetch_tries == 2  # its process was killed once, Airflow retried it, then it succeeded
    assert tasks >= 9  # one task per step

    batches = Store(app_database, create=False).batches()
    assert len(batches) == 2 and not [b for b in batches if b.status == "failed"]
    assert batches[1].batch_number == batches[0].batch_number + 1  # each run took the next batch
    assert query(prod_services.mlflow_backend_url, "SELECT count(*) FROM runs")[0][0] >= 1
