"""The warm step server Airflow's tasks run their steps in: one start per DAG run, each step a fork with its
own output, exit code, environment and working directory."""

from __future__ import annotations

import datetime
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasador.services.airflow_dag import DagConfiguration, run_step, step_server_socket
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def dag_config(tmp_path: Path) -> Iterator[DagConfiguration]:
    config = DagConfiguration(
        id="t", tasks=[], schedule="@once", start_date=datetime.datetime(2026, 1, 1), working_dir=str(REPO_ROOT)
    )
    yield config
    env = _env(tmp_path)
    pid_line = Path(step_server_socket(config, env).removesuffix(".sock") + ".log").read_text().splitlines()[-1]
    if "ready" in pid_line:  # stop the server by its pid rather than waiting for its idle exit
        os.kill(int(pid_line.split()[2]), signal.SIGTERM)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TASADOR_HOME": str(tmp_path / "home"), "ZENML_CONFIG_PATH": str(tmp_path / "zenml")}


def _step(config: DagConfiguration, env: dict[str, str], code: str) -> tuple[int, list[str], bool, list[int]]:
    """Run the probe as a task would: exit code, its output lines, whether a server was started, its pid."""
    lines: list[str] = []
    pids: list[int] = []
    argv = [sys.executable, "-m", "tests.support.step_probe", code]
    exit_code = run_step(config, argv, env, "probe", lines.append, pids.append)
    started = any(line.startswith("Starting the warm step server") for line in lines)
    return exit_code, lines, started, pids


def test_steps_run_as_forks_of_one_warm_server_with_their_own_env_output_and_exit_code(
    dag_config: DagConfiguration, tmp_path: Path
) -> None:
    env = {**_env(tmp_path), "PROBE_VALUE": "first"}
    code, lines, started, pids = _step(dag_config, env, "0")
    assert code == 0 and started, lines
    assert f"cwd={REPO_ROOT}" in lines and "value=first" in lines and "probe: done" in lines
    assert "probe decided: nothing" in lines  # the steps' INFO lines reach the task's log

    code, lines, started, second_pids = _step(dag_config, {**env, "PROBE_VALUE": "second"}, "3")
    assert code == 3 and not started  # the same server, already warm
    assert "value=second" in lines  # the task's environment, not the first one's
    assert second_pids != pids  # a process of its own

    code, lines, _, _ = _step(dag_config, env, "raise")
    assert code == 1 and any("RuntimeError: the probe failed" in line for line in lines)


def test_the_forks_inherit_a_started_zenml_store_and_each_reads_it_with_connections_of_its_own(
    dag_config: DagConfiguration, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    for _ in range(2):  # the second fork's store works although the first one's connections are gone
        code, lines, _, _ = _step(dag_config, env, "zenml")
        assert code == 0, lines
        assert "store started before the fork: True" in lines
        assert "stack=default" in lines


def test_a_dag_on_another_zenml_stack_or_store_gets_a_server_of_its_own() -> None:
    # The server's ZenML client is started once for all its forks: it must not serve another configuration.
    dag_config = DagConfiguration(id="t", tasks=[], schedule="@once", start_date=datetime.datetime(2026, 1, 1))
    env = {"TASADOR_HOME": "/h", "ZENML_CONFIG_PATH": "/z", "ZENML_ACTIVE_STACK_ID": "a", "ZENML_AIRFLOW_RUN_ID": "1"}
    socket = step_server_socket(dag_config, env)
    assert step_server_socket(dag_config, {**env, "ZENML_AIRFLOW_RUN_ID": "2"}) == socket  # the next run: warm
    assert step_server_socket(dag_config, {**env, "ZENML_ACTIVE_STACK_ID": "b"}) != socket
    assert step_server_socket(dag_config, {**env, "ZENML_STORE_URL": "sqlite:////elsewhere"}) != socket
