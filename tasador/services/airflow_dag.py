"""A ZenML custom DAG generator whose Airflow tasks run each step as a local process (no Docker).

ZenML's Airflow orchestrator imports this module (setting `custom_dag_generator`) to build the DAG's
configuration, then zips this very file as `dag.py` next to that configuration; Airflow, running in its
own virtualenv (`airflow/setup.sh`), loads the zip. Each task then runs the step's ZenML entrypoint with
the project's interpreter, recorded here at submission time, so steps keep the project's pins while
Airflow keeps its own. The entrypoint runs in a fork of a warm interpreter (tasador/services/step_server.py,
started by the first task that finds none, gone after `STEP_SERVER_IDLE_S` without tasks), so a task does
not pay Python's start and ZenML's, MLflow's and the steps' imports again; it is still one process per
step, which a crash or a kill fails alone. The container operators (Docker, KubernetesPod) stay with
ZenML's default generator: leave `custom_dag_generator` unset for them.

Only the standard library, pydantic and Airflow may be imported here: Airflow's virtualenv has no ZenML
and no tasador.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

# Names ZenML's orchestrator reads from a DAG generator module.
ENV_ZENML_AIRFLOW_RUN_ID = "ZENML_AIRFLOW_RUN_ID"
CONFIG_FILENAME = "config.json"

#: Variables of Airflow's own interpreter that must not leak into the project's.
_AIRFLOW_ONLY_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")
#: The warm step server exits after this long without a task: longer than the gap between two tasks of a
#: run (a retry waits `retry_delay`, 30 s in stacks/airflow.yaml), shorter than the schedule's interval.
STEP_SERVER_IDLE_S = 120
STEP_SERVER_START_S = 300  # importing ZenML, MLflow and the steps: seconds, minutes on saturated cores


class StepServerError(RuntimeError):
    """The warm step server could not be started or was lost mid-step."""


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


def step_server_socket(dag_config: DagConfiguration, env: dict[str, str]) -> str:
    """The socket of the warm server for this interpreter, ZenML configuration and TASADOR_HOME (short: AF_UNIX).

    The server starts ZenML's client and store once for all its forks (step_server.py), so every ZENML_
    variable but the run id is in the key: a DAG submitted on another stack or store meets a server of its own.
    """
    zenml = sorted(f"{k}={v}" for k, v in env.items() if k.startswith("ZENML_") and k != ENV_ZENML_AIRFLOW_RUN_ID)
    parts = [dag_config.python_executable, dag_config.working_dir, env.get("TASADOR_HOME", ""), *zenml]
    key = "\0".join(parts)
    return os.path.join(tempfile.gettempdir(), f"tasador-steps-{hashlib.sha1(key.encode()).hexdigest()[:12]}.sock")


def _connect(path: str) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    return conn


def connect_step_server(dag_config: DagConfiguration, env: dict[str, str], log: Callable[[str], None]) -> socket.socket:
    """A connection to the warm step server, started (detached, so later tasks find it) when there is none."""
    path = step_server_socket(dag_config, env)
    conn = _connect(path)
    if conn is not None:
        return conn
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one starter at a time; the others find its socket
        conn = _connect(path)
        if conn is not None:
            return conn
        server_log = path.removesuffix(".sock") + ".log"
        log(f"Starting the warm step server ({server_log}): ZenML and the pipeline are imported once per run.")
        with open(server_log, "ab") as out:
            server = subprocess.Popen(
                [dag_config.python_executable, "-m", "tasador.services.step_server",
                 "--socket", path, "--idle-exit-s", str(STEP_SERVER_IDLE_S)],
                cwd=dag_config.working_dir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + STEP_SERVER_START_S
        while time.monotonic() < deadline and server.poll() is None:
            conn = _connect(path)
            if conn is not None:
                return conn
            time.sleep(0.2)
    with open(server_log, errors="replace") as out:
        tail = out.read()[-3000:]
    raise StepServerError(f"The warm step server did not start (exit {server.poll()}); its log {server_log}:\n{tail}")


def run_step(
    dag_config: DagConfiguration,
    argv: list[str],
    env: dict[str, str],
    name: str,
    log: Callable[[str], None],
    on_pid: Callable[[int], None],
) -> int:
    """Run one step's entrypoint in a fork of the warm server, its output line by line to `log`; its exit code."""
    conn = connect_step_server(dag_config, env, log)
    read_end, write_end = os.pipe()
    request = json.dumps({"argv": argv, "env": env, "cwd": dag_config.working_dir, "name": name}).encode() + b"\n"
    with conn, conn.makefile("r") as replies:
        try:
            socket.send_fds(conn, [request], [write_end])
        finally:
            os.close(write_end)
        with os.fdopen(read_end, errors="replace") as output:
            started = replies.readline().split()
            if started[:1] != ["pid"]:
                raise StepServerError(f"The warm step server refused step {name}: {started}")
            on_pid(int(started[1]))
            for line in output:
                log(line.rstrip())
        ended = replies.readline().split()
    if ended[:1] != ["exit"]:
        raise StepServerError(f"The warm step server was lost while step {name} ran; the task is retried.")
    return int(ended[1])


def build_dag(dag_config: DagConfiguration) -> Any:
    """The Airflow DAG: one LocalProcessOperator per step, wired as the pipeline's data flows."""
    from airflow.sdk import DAG, BaseOperator
    from airflow.sdk.exceptions import AirflowException

    class LocalProcessOperator(BaseOperator):
        """Runs one ZenML step's entrypoint in a fork of the warm step server; a non-zero exit fails the try."""

        def __init__(self, *, task_config: TaskConfiguration, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.task_config = task_config
            self.step_pid: int | None = None

        def execute(self, context: Any) -> None:
            step = self.task_config.zenml_step_name
            argv = step_argv(dag_config, self.task_config)
            env = step_env(dict(os.environ), dag_config, self.task_config, context["run_id"])
            self.log.info("Running step %s: %s", step, " ".join(argv))
            started = time.monotonic()

            def on_pid(pid: int) -> None:
                self.step_pid = pid
                self.log.info("Step %s runs as process %d (a fork of the warm step server)", step, pid)

            try:
                code = run_step(dag_config, argv, env, step, lambda line: self.log.info("%s", line), on_pid)
            except StepServerError as exc:
                raise AirflowException(str(exc)) from exc
            if code != 0:
                raise AirflowException(f"Step {step} exited with code {code}; its output is above.")
            self.log.info("Step %s done in %.1f s.", step, time.monotonic() - started)

        def on_kill(self) -> None:
            if self.step_pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.step_pid, signal.SIGTERM)

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
