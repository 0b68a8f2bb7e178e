"""Submit the training pipeline to a local Airflow and run its DAG once, as tests/integration/test_airflow.py does
(benchmarks/orchestrators.py imports it too).

Airflow lives in its own virtualenv (`airflow/setup.sh`); ZenML writes the DAG (a zip) into
`$TASADOR_HOME/airflow/dags` when the pipeline is submitted on the `airflow` stack, and
`airflow dags test` runs it once, without a scheduler, with SQLite metadata under that AIRFLOW_HOME.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DAG_ID = "tasador_training"

#: Run as a script by the project's interpreter: the pipeline with the settings a local Airflow needs.
#: Its own file rather than `python -c`, so ZenML sees an ordinary main module; the source root is the
#: repository, wherever the script lies.
SUBMIT_SCRIPT = """
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
    retry={{"max_retries": {max_retries}, "delay": {retry_delay_s}}},
)()
"""

#: Run by Airflow's interpreter: what the scheduler would find in the dags folder.
DAGBAG_SCRIPT = """
import json
from airflow.dag_processing.dagbag import DagBag

bag = DagBag({folder!r})
print(json.dumps({{"import_errors": bag.import_errors, "dag_ids": sorted(bag.dag_ids)}}))
"""


class AirflowRunError(RuntimeError):
    """An Airflow or submission command failed; the message carries the end of its output."""


def default_airflow_venv(repo: Path) -> Path:
    """Where `airflow/setup.sh` puts Airflow: $AIRFLOW_VENV, or .venv-airflow beside the project's .venv."""
    return Path(os.environ.get("AIRFLOW_VENV") or repo / ".venv-airflow")


def airflow_home(tasador_home: Path) -> Path:
    """AIRFLOW_HOME whose dags folder is the stack's `dag_output_dir` ({home}/airflow/dags)."""
    return tasador_home / "airflow"


@dataclass(frozen=True)
class LocalAirflow:
    """Airflow in `venv`, with its metadata and dags under `home`, run with `base_env` (the steps' env)."""

    venv: Path
    home: Path
    base_env: dict[str, str]

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "airflow"

    @property
    def installed(self) -> bool:
        return self.executable.exists()

    @property
    def dags_folder(self) -> Path:
        return self.home / "dags"

    @property
    def metadata_db(self) -> Path:
        """Airflow's SQLite metadata database (its default under AIRFLOW_HOME)."""
        return self.home / "airflow.db"

    @property
    def env(self) -> dict[str, str]:
        # Every task inherits this environment, so the steps see the same services as the submitter.
        return {**self.base_env, "AIRFLOW_HOME": str(self.home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

    def command(self, *args: str) -> list[str]:
        return [str(self.executable), *args]

    def run(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        """`airflow ARGS` to completion, output captured (the caller checks the return code)."""
        return subprocess.run(self.command(*args), env=self.env, capture_output=True, text=True, timeout=timeout)

    def migrate(self, timeout: float = 1800) -> None:
        """Create or upgrade the metadata database."""
        done = self.run("db", "migrate", timeout=timeout)
        if done.returncode != 0:
            raise AirflowRunError(f"airflow db migrate failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def dagbag(self, timeout: float = 600) -> dict[str, object]:
        """`{"import_errors": {file: error}, "dag_ids": [...]}` of the dags folder, as Airflow parses it."""
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", DAGBAG_SCRIPT.format(folder=str(self.dags_folder))],
            env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise AirflowRunError(f"parsing {self.dags_folder} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        parsed: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return parsed

    def dags_test_command(self, dag_id: str = DAG_ID) -> list[str]:
        """One run of the DAG, tasks in this process tree, no scheduler: one batch of the loop."""
        return self.command("dags", "test", dag_id)

    def dag_runs(self, dag_id: str = DAG_ID) -> list[tuple[str, str]]:
        """(run_id, state) of every run of `dag_id`, oldest first."""
        import sqlite3

        with sqlite3.connect(self.metadata_db) as conn:
            rows = conn.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,))
            return [(str(run_id), str(state)) for run_id, state in rows]

    def task_seconds(self, run_id: str) -> dict[str, float]:
        """Duration of each task of one DAG run (its last try), by task id."""
        import sqlite3

        with sqlite3.connect(self.metadata_db) as conn:
            rows = conn.execute("SELECT task_id, duration FROM task_instance WHERE run_id = ?", (run_id,))
            return {str(task_id): float(duration or 0.0) for task_id, duration in rows}


def submit_pipeline(
    repo: Path,
    env: dict[str, str],
    dag_id: str = DAG_ID,
    max_retries: int = 2,
    retry_delay_s: int = 1,
    python: str = sys.executable,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Submit the training pipeline on the active (airflow) stack: ZenML writes the DAG zip, nothing runs."""
    script = SUBMIT_SCRIPT.format(repo=str(repo), dag_id=dag_id, max_retries=max_retries, retry_delay_s=retry_delay_s)
    with tempfile.TemporaryDirectory(prefix="tasador-submit-") as folder:
        path = Path(folder) / "submit.py"
        path.write_text(script)
        return subprocess.run([python, str(path)], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
