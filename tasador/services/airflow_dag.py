"""A ZenML custom DAG generator whose Airflow tasks run each step as a local process (no Docker).

ZenML's Airflow orchestrator imports this module (setting `custom_dag_generator`) to build the DAG's
configuration, then zips this very file as `dag.py` next to that configuration; Airflow, running in its
own virtualenv (`airflow/setup.sh`), loads the zip. Each task then runs the step's ZenML entrypoint with
the project's interpreter, recorded here at submission time, so steps keep the project's pins while
Airflow keeps its own. The container operators (Docker, KubernetesPod) stay with ZenML's default
generator: leave `custom_dag_generator` unset for them.

Only the standard library, pydantic and Airflow may be imported here: Airflow's virtualenv has no ZenML
and no tasador.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import zipfile
from typing import Any

from pydantic import BaseModel, Field

# Names ZenML's orchestrator reads from a DAG generator module.
ENV_ZENML_AIRFLOW_RUN_ID = "ZENML_AIRFLOW_RUN_ID"
CONFIG_FILENAME = "config.json"

#: Variables of Airflow's own interpreter that must not leak into the project's.
_AIRFLOW_ONLY_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")


class TaskConfiguration(BaseModel):
    """One ZenML step as an Airflow task (the fields ZenML's orchestrator fills in)."""

    id: str
    zenml_step_name: str
    upstream_steps: list[str]
    docker_image: str  # unused here: the step runs in the project's virtualenv
    command: list[str]
    arguments: list[str]
    environment: dict[str, str] = {}
    operator_source: str  # unused here: every task is a LocalProcessOperator
    operator_args: dict[str, Any] = {}  # BaseOperator arguments, e.g. retries, retry_delay (seconds)


class DagConfiguration(BaseModel):
    """The DAG, as ZenML's orchestrator fills it in, plus where the project's interpreter lives."""

    id: str
    tasks: list[TaskConfiguration]
    local_stores_path: str | None = None
    schedule: datetime.timedelta | str = Field(union_mode="left_to_right")
    start_date: datetime.datetime
    end_date: datetime.datetime | None = None
    catchup: bool = False
    tags: list[str] = []
    dag_args: dict[str, Any] = {}
    # Filled in by the process that submits the pipeline (the project's venv, in the repository root).
    python_executable: str = Field(default_factory=lambda: sys.executable)
    working_dir: str = Field(default_factory=os.getcwd)


def step_argv(dag_config: DagConfiguration, task: TaskConfiguration) -> list[str]:
    """The step's entrypoint command with the project's interpreter in place of a bare `python`."""
    command = list(task.command)
    if command and command[0] == "python":
        command[0] = dag_config.python_executable
    return [*command, *task.arguments]


def step_env(
    base: dict[str, str], dag_config: DagConfiguration, task: TaskConfiguration, run_id: str
) -> dict[str, str]:
    """The step's environment: the worker's, cleaned of Airflow's interpreter, plus ZenML's variables."""
    env = {k: v for k, v in base.items() if k not in _AIRFLOW_ONLY_ENV}
    venv_bin = os.path.dirname(dag_config.python_executable)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    env.update(task.environment)
    env[ENV_ZENML_AIRFLOW_RUN_ID] = run_id
    return env


def build_dag(dag_config: DagConfiguration) -> Any:
    """The Airflow DAG: one LocalProcessOperator per step, wired as the pipeline's data flows."""
    from airflow.sdk import DAG, BaseOperator
    from airflow.sdk.exceptions import AirflowException

    class LocalProcessOperator(BaseOperator):
        """Runs one ZenML step's entrypoint as a child process; a non-zero exit fails the try."""

        def __init__(self, *, task_config: TaskConfiguration, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.task_config = task_config

        def execute(self, context: Any) -> None:
            argv = step_argv(dag_config, self.task_config)
            env = step_env(dict(os.environ), dag_config, self.task_config, context["run_id"])
            self.log.info("Running step %s: %s", self.task_config.zenml_step_name, " ".join(argv))
            with subprocess.Popen(
                argv, cwd=dag_config.working_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            ) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    self.log.info("%s", line.rstrip())
            if proc.returncode != 0:
                raise AirflowException(
                    f"Step {self.task_config.zenml_step_name} exited with code {proc.returncode}; its output is above."
                )

    dag_kwargs: dict[str, Any] = {
        "is_paused_upon_creation": False,
        "tags": dag_config.tags,
        "schedule": dag_config.schedule,
        "start_date": dag_config.start_date,
        "end_date": dag_config.end_date,
        "catchup": dag_config.catchup,
    }
    # The stack's `dag_args` win, so a stack file can set the schedule (e.g. "@hourly": a batch an hour).
    dag_kwargs.update(dag_config.dag_args)
    operators: dict[str, Any] = {}
    with DAG(dag_id=dag_config.id, **dag_kwargs) as dag:
        for task in dag_config.tasks:
            operators[task.zenml_step_name] = LocalProcessOperator(
                task_id=task.id, task_config=task, **task.operator_args
            )
        for task in dag_config.tasks:
            for upstream in task.upstream_steps:
                operators[task.zenml_step_name].set_upstream(operators[upstream])
    return dag


def _dag_from_archive() -> Any | None:
    """The DAG when this file runs as `dag.py` inside the zip ZenML wrote; None when imported normally."""
    try:
        archive = zipfile.ZipFile(os.path.dirname(__file__))
    except (IsADirectoryError, FileNotFoundError, PermissionError, zipfile.BadZipFile):
        return None
    with archive:
        return build_dag(DagConfiguration.model_validate_json(archive.read(CONFIG_FILENAME)))


# Airflow finds DAGs as module globals of the files it parses, so the zip's copy builds it on import.
dag = _dag_from_archive()
