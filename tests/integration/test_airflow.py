"""The training pipeline as a real Airflow 3 DAG (SQLite metadata, `airflow dags test`), no Docker.

Airflow runs from its own virtualenv (`bash airflow/setup.sh`); each task runs one ZenML step with the
project's interpreter. The services are the production ones (moto S3, MLflow on PostgreSQL).
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from tasador.configs import ServicesConfig
from tasador.store import Store
from tests.support.airflow_run import DAG_ID, LocalAirflow, airflow_home, default_airflow_venv, submit_pipeline
from tests.support.paths import REPO_ROOT
from tests.support.prod import query, run_cli

AIRFLOW_VENV = default_airflow_venv(REPO_ROOT)
RETRY_DELAY_S = 5

pytestmark = pytest.mark.skipif(
    not (AIRFLOW_VENV / "bin" / "airflow").exists(), reason=f"no Airflow in {AIRFLOW_VENV}: run `bash airflow/setup.sh`"
)


def _kill_first_step_once(airflow: subprocess.Popen[str], step: str) -> threading.Thread:
    """SIGKILL the process running `step` as soon as it starts: a worker lost mid-task, once."""

    def watch() -> None:
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and airflow.poll() is None:
            for child in psutil.Process(airflow.pid).children(recursive=True):
                try:  # a fork of the warm step server, named after its step (airflow_dag.py)
                    if child.name() == step:
                        child.kill()
                        return
                except psutil.NoSuchProcess:
                    continue
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
        (REPO_ROOT / "stacks" / "airflow.yaml").read_text().replace("retry_delay: 30", f"retry_delay: {RETRY_DELAY_S}")
    )
    applied = run_cli("stack", "apply", str(stack_file), "--activate", env=prod_env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    submitted = submit_pipeline(REPO_ROOT, prod_env, DAG_ID)
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    airflow = LocalAirflow(AIRFLOW_VENV, airflow_home(Path(prod_env["TASADOR_HOME"])), prod_env)
    assert (airflow.dags_folder / f"{DAG_ID}.zip").exists()

    airflow.migrate()
    assert airflow.dagbag() == {"import_errors": {}, "dag_ids": [DAG_ID]}

    # First run: the process of its first task dies once; Airflow retries the task and the run completes.
    started = time.monotonic()
    with subprocess.Popen(
        airflow.dags_test_command(DAG_ID), env=airflow.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as first:
        killer = _kill_first_step_once(first, "fetch_batch")
        first_log, _ = first.communicate(timeout=1800)
    first_s = time.monotonic() - started
    killer.join(timeout=10)
    assert first.returncode == 0, first_log[-8000:]

    started = time.monotonic()
    second = airflow.run("dags", "test", DAG_ID)
    second_s = time.monotonic() - started
    assert second.returncode == 0, second.stdout[-8000:] + second.stderr[-3000:]
    for step in ("fetch", "validate", "decide retrain", "summarize"):  # each task's log says what its step decided
        assert f"{step} decided: " in second.stdout + second.stderr, step
    print(f"airflow dags test, one batch: {first_s:.0f} s (with a retry), {second_s:.0f} s")

    runs = airflow.dag_runs(DAG_ID)
    with sqlite3.connect(airflow.metadata_db) as conn:
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
